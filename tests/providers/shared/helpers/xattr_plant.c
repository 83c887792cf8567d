/* Tries to leave extended attributes the host acts on in a writable directory DIR:
 *   xattr_plant DIR
 * a default POSIX ACL on DIR (every file the host later creates there would be world-writable)
 * and a file capability (cap_setuid, effective) on a new DIR/capfile, then a user.* attribute.
 * Prints each call's outcome; the host judges what reached its files. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

static void report(const char* what, int r) {
    printf("%s %s\n", what, r == 0 ? "set" : strerror(errno));
}

int main(int argc, char** argv) {
    if (argc < 2) return 2;
    /* POSIX ACL xattr, version 2: user::rwx, group::rwx, other::rwx. */
    struct __attribute__((packed)) {
        uint32_t version;
        struct __attribute__((packed)) {
            uint16_t tag, perm;
            uint32_t id;
        } e[3];
    } acl = {2, {{0x01, 7, 0xffffffffu}, {0x04, 7, 0xffffffffu}, {0x20, 7, 0xffffffffu}}};
    report("acl", setxattr(argv[1], "system.posix_acl_default", &acl, sizeof acl, 0));

    char path[4096];
    snprintf(path, sizeof path, "%s/capfile", argv[1]);
    int fd = open(path, O_CREAT | O_WRONLY, 0755);
    if (fd >= 0) close(fd);
    /* VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE, permitted = CAP_SETUID (7). */
    struct {
        uint32_t magic;
        struct {
            uint32_t permitted, inheritable;
        } data[2];
    } cap = {0x02000001u, {{1u << 7, 0}, {0, 0}}};
    report("capability", setxattr(path, "security.capability", &cap, sizeof cap, 0));
    report("trusted", setxattr(path, "trusted.overlay.opaque", "y", 1, 0));
    return 0;
}
