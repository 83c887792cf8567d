/* Tries system calls the sandbox refuses and prints "name ERRNO-NAME" (or "name OK") per line.
 * Each is made in a form an unprivileged process could otherwise use, or one whose failure
 * without the filter differs from the filter's answer (mount, init_module fail with EPERM for
 * lack of capabilities; the filter answers ENOSYS), so a test can tell the filter is the cause
 * by running the probe with and without it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <linux/netlink.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char* name, long rc) {
    printf("%s %s\n", name, rc < 0 ? strerrorname_np(errno) : "OK");
}

static void report_socket(const char* name, int family, int type, int protocol) {
    int fd = socket(family, type, protocol);
    report(name, fd);
    if (fd >= 0) close(fd);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    report("unshare", unshare(CLONE_NEWUSER));
    report("mount", mount("none", "/tmp", "tmpfs", 0, NULL));
    /* In a child of ours: a traced process stops at its next signal, and its tracer (its parent)
     * must be this probe, not the sandbox's init. */
    pid_t tracee = fork();
    if (tracee == 0) {
        report("ptrace_traceme", ptrace(PTRACE_TRACEME, 0, NULL, NULL));
        _exit(0);
    }
    waitpid(tracee, NULL, 0);
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    report("ptrace_attach", ptrace(PTRACE_ATTACH, child, NULL, NULL));
    char buf[64] = {0}, src[8] = "x";
    struct iovec local = {buf, 1}, remote = {src, 1};
    report("process_vm_readv", syscall(SYS_process_vm_readv, child, &local, 1, &remote, 1, 0));
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    report("keyctl", syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
    report("add_key", syscall(SYS_add_key, "user", "microvm", "x", 1, KEY_SPEC_SESSION_KEYRING));
    report("personality", personality(ADDR_NO_RANDOMIZE));
    report("finit_module", syscall(SYS_finit_module, 0, "", 0));
    report("init_module", syscall(SYS_init_module, NULL, 0, ""));
    report("bpf", syscall(SYS_bpf, 0, NULL, 0));
    report("userfaultfd", syscall(SYS_userfaultfd, 1 /* UFFD_USER_MODE_ONLY */));
    struct file_handle* fh = (struct file_handle*)buf;
    int mount_id;
    fh->handle_bytes = 0;
    report("name_to_handle_at", syscall(SYS_name_to_handle_at, AT_FDCWD, "/", fh, &mount_id, 0));
    /* A new user namespace needs no capability: only the filter (or the namespace limit) stops
     * it. */
    long cloned = syscall(SYS_clone, CLONE_NEWUSER | CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
    if (cloned == 0) _exit(0); /* the child, where nothing refused the clone */
    if (cloned > 0) waitpid((pid_t)cloned, NULL, 0);
    report("clone_newuser", cloned);
    report("setns", syscall(SYS_setns, 0, 0));
    report("clone3", syscall(SYS_clone3, NULL, 0)); /* ENOSYS, so libc falls back to clone */
    report("io_uring_setup", syscall(SYS_io_uring_setup, 1, buf));
    unsigned long aio_context = 0;
    long aio = syscall(SYS_io_setup, 1, &aio_context);
    report("io_setup", aio);
    if (aio == 0) syscall(SYS_io_destroy, aio_context);
    long secret = syscall(447 /* memfd_secret, Linux 5.14 */, 0);
    report("memfd_secret", secret);
    if (secret >= 0) close((int)secret);
    report("statmount", syscall(457, NULL, NULL, 0, 0)); /* Linux 6.8; not on the allow list */
    char c = 'x';
    report("ioctl_tiocsti", ioctl(1, TIOCSTI, &c));
    /* A 0:0 character device (an overlayfs whiteout) needs no capability since Linux 5.8. */
    char dir[] = "/tmp/probe-node-XXXXXX", node[64] = "";
    long made = -1;
    if (mkdtemp(dir) != NULL) {
        snprintf(node, sizeof node, "%s/n", dir);
        made = mknod(node, S_IFCHR | 0644, 0);
    }
    report("mknod_whiteout", made);
    if (made == 0) unlink(node);
    /* The same left by a rename: RENAME_WHITEOUT (4) needs no capability either. */
    char from[80], to[80];
    snprintf(from, sizeof from, "%s/f", dir);
    snprintf(to, sizeof to, "%s/t", dir);
    FILE* f = fopen(from, "w");
    if (f) fclose(f);
    report("rename_whiteout", syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, 4));
    /* Inode flags a file keeps, and files made in a directory inherit, after the run: set to
       what they are (FS_IOC_GETFLAGS, then FS_IOC_SETFLAGS). */
    int flagged = open(from, O_RDONLY | O_CREAT, 0644);
    long inode_flags = 0;
    long got_flags = flagged >= 0 ? ioctl(flagged, 0x80086601 /* FS_IOC_GETFLAGS */, &inode_flags) : -1;
    report("ioctl_setflags", got_flags == 0 ? ioctl(flagged, 0x40086602 /* FS_IOC_SETFLAGS */, &inode_flags) : got_flags);
    if (flagged >= 0) close(flagged);
    unlink(from);
    unlink(to);
    rmdir(dir);
    /* The init's CPU limit set to what it is: the kernel asks only for the same uid. */
    struct rlimit init_cpu;
    long got = syscall(SYS_prlimit64, 1, RLIMIT_CPU, NULL, &init_cpu);
    report("prlimit_read_init", got);
    report("prlimit_set_init", got == 0 ? syscall(SYS_prlimit64, 1, RLIMIT_CPU, &init_cpu, NULL) : got);
    struct rlimit files;
    got = getrlimit(RLIMIT_NOFILE, &files);
    report("setrlimit_nofile", got == 0 ? setrlimit(RLIMIT_NOFILE, &files) : got);
    report_socket("socket_vsock", AF_VSOCK, SOCK_STREAM, 0);
    report_socket("socket_packet", AF_PACKET, SOCK_DGRAM, 0);
    report_socket("socket_netlink_audit", AF_NETLINK, SOCK_RAW, NETLINK_AUDIT);
    report_socket("socket_netlink_route", AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    report_socket("socket_unix", AF_UNIX, SOCK_STREAM, 0);
    /* Allowed: a plain fork, the personality query, the sockets a sandbox needs. */
    pid_t plain = fork();
    if (plain == 0) _exit(0);
    if (plain > 0) waitpid(plain, NULL, 0);
    report("fork", plain);
    report("personality_query", personality(0xffffffff));
    int sv[2];
    report("socketpair_unix", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    report_socket("socket_inet", AF_INET, SOCK_STREAM, 0);
    return 0;
}
