#include "confined_fork_filter.hpp"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>

#include "host/seccomp_policy.hpp"

namespace microvm::host {
namespace {

#if defined(__x86_64__)
constexpr uint32_t kArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr uint32_t kArch = AUDIT_ARCH_AARCH64;
#else
#error "confined_fork_filter: add this architecture's AUDIT_ARCH"
#endif

// Calls newer than Debian 12's headers share one number on every architecture (424 onwards).
constexpr long kProcessMadvise = 440, kMountSetattr = 442, kQuotactlFd = 443, kMemfdSecret = 447,
               kFchmodat2 = 452, kStatmount = 457, kListmount = 458, kRemovexattrat = 466,
               kOpenTreeAttr = 467, kFileSetattr = 469;
// fcntl: who gets a descriptor's SIGIO, and which signal it is: with O_ASYNC a SIGKILL to any
// process, beyond the reach of the kill() rules (Landlock's signal scope stops it where the
// kernel has ABI 6; red team, 2026-12-07).
constexpr uint32_t kSignalOwnerCommands[] = {F_SETOWN, F_SETOWN_EX, F_SETSIG};
// ioctl: the same through a socket or FIOASYNC's owner.
constexpr uint32_t kSignalOwnerIoctls[] = {0x8901 /* FIOSETOWN */, 0x8902 /* SIOCSPGRP */};

// Refused with EPERM whatever their arguments: nothing the child's code needs, each a way past
// the process (other processes, the kernel's global state, credentials, files' owners). Set-id
// mode bits, device nodes, extended attributes and openat2 are host::ModeBitsFilter's, stacked
// on this one.
constexpr long kRefused[] = {
    SYS_execve, SYS_execveat,
#ifdef SYS_fork
    SYS_fork, SYS_vfork,
#endif
    SYS_ptrace, SYS_process_vm_readv, SYS_process_vm_writev, kProcessMadvise, SYS_kcmp,
    SYS_pidfd_open, SYS_pidfd_getfd, SYS_pidfd_send_signal, SYS_tkill,
    SYS_unshare, SYS_setns, SYS_mount, SYS_umount2, SYS_pivot_root, SYS_chroot, kMountSetattr,
    SYS_open_tree, kOpenTreeAttr, SYS_move_mount, SYS_fsopen, SYS_fsconfig, SYS_fsmount, SYS_fspick,
    SYS_bpf, SYS_perf_event_open, SYS_userfaultfd, SYS_keyctl, SYS_add_key, SYS_request_key,
    SYS_init_module, SYS_finit_module, SYS_delete_module, SYS_kexec_load, SYS_kexec_file_load,
    SYS_reboot, SYS_swapon, SYS_swapoff, SYS_acct, SYS_settimeofday, SYS_clock_settime,
    SYS_adjtimex, SYS_clock_adjtime, SYS_sethostname, SYS_setdomainname,
#ifdef SYS_iopl
    SYS_iopl, SYS_ioperm,
#endif
    SYS_io_uring_setup, SYS_io_uring_enter, SYS_io_uring_register, SYS_quotactl, kQuotactlFd,
    SYS_name_to_handle_at, SYS_open_by_handle_at, SYS_syslog, SYS_personality,
    SYS_setuid, SYS_setgid, SYS_setreuid, SYS_setregid, SYS_setresuid, SYS_setresgid,
    SYS_setgroups, SYS_setfsuid, SYS_setfsgid, SYS_capset,
    SYS_setpriority, SYS_ioprio_set, SYS_sched_setscheduler, SYS_sched_setparam,
    SYS_sched_setattr, SYS_sched_setaffinity, SYS_migrate_pages, SYS_move_pages,
    // Owners, modes and extended attributes: Landlock governs none of them, so a root child
    // could chmod /etc/shadow wherever it lies (red team, 2026-12-07). WASI changes none.
    SYS_fchown, SYS_fchownat, SYS_fchmod, SYS_fchmodat, kFchmodat2, SYS_removexattr,
    SYS_lremovexattr, SYS_fremovexattr, kRemovexattrat,
#ifdef SYS_chown
    SYS_chown, SYS_lchown, SYS_chmod,
#endif
    // A new session or process group would leave the host's (its job control, its kill).
    SYS_setsid, SYS_setpgid,
    // System V IPC and POSIX message queues reach other processes' segments and outlive the
    // child; memfd holds memory past its address-space limit (red team, 2026-12-07).
    SYS_shmget, SYS_shmat, SYS_shmctl, SYS_shmdt, SYS_msgget, SYS_msgsnd, SYS_msgrcv, SYS_msgctl,
    SYS_semget, SYS_semop, SYS_semtimedop, SYS_semctl, SYS_mq_open, SYS_mq_unlink, SYS_mq_timedsend,
    SYS_mq_timedreceive, SYS_mq_notify, SYS_mq_getsetattr, SYS_memfd_create, kMemfdSecret,
    // Inode flags by path (Landlock governs it not), and the host's mount table (red team).
    kFileSetattr, kListmount, kStatmount,
    // Times by path: Landlock governs no file's times (utimensat: below).
#ifdef SYS_utime
    SYS_utime, SYS_utimes, SYS_futimesat,
#endif
};

constexpr uint32_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |
                                     CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;

class Program {
  public:
    void load_nr() { load(offsetof(seccomp_data, nr)); }
    void load_arg_low(int i) { load(offsetof(seccomp_data, args) + 8 * static_cast<size_t>(i)); }
    void load_arg_high(int i) { load(offsetof(seccomp_data, args) + 8 * static_cast<size_t>(i) + 4); }
    void load(size_t offset) { code_.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<uint32_t>(offset))); }
    void ret(uint32_t action) { code_.push_back(BPF_STMT(BPF_RET | BPF_K, action)); }
    // if (A == k) ret(action), else on; and the other three tests of A.
    void if_equal_return(uint32_t k, uint32_t action) { test_return(BPF_JEQ, k, true, action); }
    void unless_equal_return(uint32_t k, uint32_t action) { test_return(BPF_JEQ, k, false, action); }
    void if_any_return(uint32_t bits, uint32_t action) { test_return(BPF_JSET, bits, true, action); }
    void unless_any_return(uint32_t bits, uint32_t action) { test_return(BPF_JSET, bits, false, action); }
    // if (nr != k) skip the block up to end_call.
    size_t begin_call(long nr) {
        load_nr();
        code_.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(nr), 0, 0));
        return code_.size() - 1;
    }
    // A jump reaches 255 instructions at most: a longer block would jump wrong, so the program
    // is then refused whole (take gives nothing, and the child does not run).
    void end_call(size_t jump) {
        const size_t distance = code_.size() - jump - 1;
        if (distance > 255) too_long_ = true;
        code_[jump].jf = static_cast<uint8_t>(distance);
    }
    std::vector<sock_filter> take() { return too_long_ ? std::vector<sock_filter>{} : std::move(code_); }

  private:
    // The test, then ret(action) when it comes out as on_true, skipped otherwise.
    void test_return(uint16_t test, uint32_t k, bool on_true, uint32_t action) {
        const uint8_t to_ret = 0, past_ret = 1;
        code_.push_back(BPF_JUMP(BPF_JMP | test | BPF_K, k, on_true ? to_ret : past_ret, on_true ? past_ret : to_ret));
        ret(action);
    }
    std::vector<sock_filter> code_;
    bool too_long_ = false;
};

constexpr uint32_t errno_ret(int err) { return SECCOMP_RET_ERRNO | static_cast<uint32_t>(err); }

}  // namespace

std::vector<sock_filter> confined_fork_filter(ChildRules::Sockets sockets, pid_t own_pid) {
    Program p;
    p.load(offsetof(seccomp_data, arch));
    p.unless_equal_return(kArch, SECCOMP_RET_KILL_PROCESS);
#if defined(__x86_64__)
    // The x32 ABI's numbers alias the 64-bit ones with bit 30 set: refused outright.
    p.load_nr();
    p.if_any_return(0x40000000, errno_ret(ENOSYS));
#endif
    p.load_nr();
    for (long nr : kRefused) p.if_equal_return(static_cast<uint32_t>(nr), errno_ret(EPERM));
    // clone3's flags are in memory, where a filter cannot read: ENOSYS makes libc use clone.
    p.if_equal_return(SYS_clone3, errno_ret(ENOSYS));

    // clone: threads only (CLONE_THREAD), never a namespace.
    size_t jump = p.begin_call(SYS_clone);
    p.load_arg_low(0);
    p.if_any_return(kNamespaceFlags, errno_ret(EPERM));
    p.unless_any_return(CLONE_THREAD, errno_ret(EPERM));
    p.ret(SECCOMP_RET_ALLOW);
    p.end_call(jump);

    // Signals: to itself only (raise() and abort() use tgkill(own pid, ...)).
    for (long nr : {long{SYS_kill}, long{SYS_tgkill}, long{SYS_rt_sigqueueinfo}, long{SYS_rt_tgsigqueueinfo}}) {
        jump = p.begin_call(nr);
        p.load_arg_low(0);
        p.unless_equal_return(static_cast<uint32_t>(own_pid), errno_ret(EPERM));
        p.ret(SECCOMP_RET_ALLOW);
        p.end_call(jump);
    }

    // fcntl: no SIGIO owner or signal, no lease (seccomp_policy's kDeniedCommands).
    jump = p.begin_call(SYS_fcntl);
    p.load_arg_low(1);
    for (uint32_t cmd : kSignalOwnerCommands) p.if_equal_return(cmd, errno_ret(EPERM));
    for (const auto& denied : seccomp_policy::kDeniedCommands) {
        p.if_equal_return(static_cast<uint32_t>(denied.value), errno_ret(EPERM));
    }
    p.ret(SECCOMP_RET_ALLOW);
    p.end_call(jump);

    // ioctl: no SIGIO owner; nothing the sandboxes may not do either (inode flags, encryption,
    // verity, a terminal's input: seccomp_policy's kDeniedIoctls).
    jump = p.begin_call(SYS_ioctl);
    p.load_arg_low(1);
    for (uint32_t cmd : kSignalOwnerIoctls) p.if_equal_return(cmd, errno_ret(EPERM));
    for (unsigned long cmd : seccomp_policy::kDeniedIoctls) p.if_equal_return(static_cast<uint32_t>(cmd), errno_ret(EPERM));
    p.ret(SECCOMP_RET_ALLOW);
    p.end_call(jump);

    // prctl: never PR_SET_PDEATHSIG, whose reset would let it outlive the host.
    jump = p.begin_call(SYS_prctl);
    p.load_arg_low(0);
    p.if_equal_return(PR_SET_PDEATHSIG, errno_ret(EPERM));
    p.ret(SECCOMP_RET_ALLOW);
    p.end_call(jump);

    // Limits: its own only (0 or its pid), never another process's.
    jump = p.begin_call(SYS_prlimit64);
    p.load_arg_low(0);
    p.if_equal_return(0, SECCOMP_RET_ALLOW);
    p.unless_equal_return(static_cast<uint32_t>(own_pid), errno_ret(EPERM));
    p.ret(SECCOMP_RET_ALLOW);
    p.end_call(jump);

    // utimensat: through a descriptor only (futimens: no path, no flags). Landlock governs no
    // file's times, so by path a child its code was taken over by set the times of any file of
    // the host (the engine's owner's: root's under microvmd); the engine sets times through a
    // descriptor it opened within its rules.
    jump = p.begin_call(SYS_utimensat);
    p.load_arg_low(1);
    p.unless_equal_return(0, errno_ret(EPERM));
    p.load_arg_high(1);
    p.unless_equal_return(0, errno_ret(EPERM));
    p.load_arg_low(3);
    p.unless_equal_return(0, errno_ret(EPERM));
    p.ret(SECCOMP_RET_ALLOW);
    p.end_call(jump);

    jump = p.begin_call(SYS_socket);
    if (sockets == ChildRules::Sockets::None) {
        p.ret(errno_ret(EPERM));
        p.end_call(jump);
        // Without a socket of its own, the child's only sockets are connected ones the host hands
        // over (ConfinedCall::on_connect_request): connect() is answered 0 and not done, since
        // libcurl 7.88 connects a socket again whatever CURL_SOCKOPT_ALREADY_CONNECTED says.
        jump = p.begin_call(SYS_connect);
        p.ret(errno_ret(0));
    } else {
        // Not AF_UNIX: a socket file reached by path would answer to root (docker's, microvmd's),
        // and neither libcurl nor the resolver needs one.
        p.load_arg_low(0);
        for (uint32_t family : {AF_INET, AF_INET6}) p.if_equal_return(family, SECCOMP_RET_ALLOW);
        p.ret(errno_ret(EAFNOSUPPORT));
    }
    p.end_call(jump);

    p.ret(SECCOMP_RET_ALLOW);
    return p.take();
}

}  // namespace microvm::host
