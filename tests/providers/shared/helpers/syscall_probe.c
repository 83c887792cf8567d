/* Tries the system calls the sandbox denies and prints "name errno-name" per line. Each call is
 * one an unprivileged process could normally make (or a harmless form of it), so only the
 * seccomp filter turns them into EPERM. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char* name, long rc) {
    printf("%s %s\n", name, rc < 0 ? strerrorname_np(errno) : "OK");
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    report("unshare", unshare(CLONE_NEWUSER));
    report("mount", mount("none", "/tmp", "tmpfs", 0, NULL));
    report("ptrace_traceme", ptrace(PTRACE_TRACEME, 0, NULL, NULL));
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    report("ptrace_attach", ptrace(PTRACE_ATTACH, child, NULL, NULL));
    char buf[8] = {0}, src[8] = "x";
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
    report("clone_newns", syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0));
    report("setns", syscall(SYS_setns, 0, 0));
    /* Allowed: a plain fork, and querying the personality. */
    pid_t plain = fork();
    if (plain == 0) _exit(0);
    if (plain > 0) waitpid(plain, NULL, 0);
    report("fork", plain);
    report("personality_query", personality(0xffffffff));
    return 0;
}
