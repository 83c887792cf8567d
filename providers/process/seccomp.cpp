#include "process/seccomp.hpp"

#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "process/sys_error.hpp"
#include "process/unique_fd.hpp"

namespace microvm::process {
namespace {

using FilterPtr =
    std::unique_ptr<std::remove_pointer_t<scmp_filter_ctx>, void (*)(scmp_filter_ctx)>;

// kDeniedCloneFlags (seccomp.hpp) are the CLONE_NEW* flags. (CLONE_NEWTIME shares its bit with
// clone()'s exit signal byte, so it only matters for clone3/unshare, denied wholesale.)
static_assert(kDeniedCloneFlags[0] == CLONE_NEWNS && kDeniedCloneFlags[1] == CLONE_NEWCGROUP &&
              kDeniedCloneFlags[2] == CLONE_NEWUTS && kDeniedCloneFlags[3] == CLONE_NEWIPC &&
              kDeniedCloneFlags[4] == CLONE_NEWUSER && kDeniedCloneFlags[5] == CLONE_NEWPID &&
              kDeniedCloneFlags[6] == CLONE_NEWNET);

Expected<void> check(int rc, const std::string& what) {
    if (rc < 0) return sys_failure("seccomp " + what, -rc);
    return Ok{};
}

Expected<void> deny(scmp_filter_ctx ctx, const std::string& name, int err = EPERM) {
    int nr = ::seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR) return Ok{};  // not a system call on this architecture
    return check(::seccomp_rule_add(ctx, SCMP_ACT_ERRNO(err), nr, 0), "rule " + name);
}

Expected<void> restrict_personality(scmp_filter_ctx ctx) {
    const int nr = SCMP_SYS(personality);
    // Deny when bit 31 is clear and any bit outside the allowed ones is set ...
    for (uint32_t bit = 0; bit < 31; ++bit) {
        uint32_t b = 1u << bit;
        if (b & kPersonalityAllowedBits) continue;
        RTFS_CHECK(check(::seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1,
                                            SCMP_A0(SCMP_CMP_MASKED_EQ, 0x80000000u | b, b)),
                         "rule personality"));
    }
    // ... and when bit 31 is set but the value is not the query 0xffffffff (some bit clear).
    for (uint32_t bit = 0; bit < 31; ++bit) {
        uint32_t b = 1u << bit;
        RTFS_CHECK(
            check(::seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1,
                                     SCMP_A0(SCMP_CMP_MASKED_EQ, 0x80000000u | b, 0x80000000u)),
                  "rule personality"));
    }
    return Ok{};
}

Expected<void> add_rules(scmp_filter_ctx ctx) {
    for (const std::string& name : SeccompFilter::denied_syscalls()) RTFS_CHECK(deny(ctx, name));
    // clone3 passes its flags in memory the filter cannot read: make libc fall back to clone.
    RTFS_CHECK(deny(ctx, "clone3", ENOSYS));
    for (uint64_t flag : kDeniedCloneFlags) {
        RTFS_CHECK(check(::seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                                            SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag)),
                         "rule clone"));
    }
    RTFS_CHECK(restrict_personality(ctx));
    // Typing into the host's terminal (TIOCSTI) and the console ioctl TIOCLINUX.
    for (unsigned long request :
         {static_cast<unsigned long>(TIOCSTI), static_cast<unsigned long>(TIOCLINUX)}) {
        RTFS_CHECK(check(::seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                                            SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, request)),
                         "rule ioctl"));
    }
    return Ok{};
}

}  // namespace

const std::vector<std::string>& SeccompFilter::denied_syscalls() {
    static const std::vector<std::string> names = {
        // Mounting and changing the root: could reshape the sandbox's view of the file system.
        "mount",
        "umount",
        "umount2",
        "pivot_root",
        "chroot",
        "move_mount",
        "open_tree",
        "fsopen",
        "fsmount",
        "fsconfig",
        "fspick",
        "mount_setattr",
        // New namespaces: a fresh user namespace hands out capabilities again.
        "unshare",
        "setns",
        // The kernel keyring is not namespaced.
        "add_key",
        "request_key",
        "keyctl",
        // Reading or changing other processes' memory.
        "ptrace",
        "process_vm_readv",
        "process_vm_writev",
        // Kernel code and state.
        "kexec_load",
        "kexec_file_load",
        "init_module",
        "finit_module",
        "delete_module",
        "bpf",
        "perf_event_open",
        "userfaultfd",
        "reboot",
        "swapon",
        "swapoff",
        "syslog",
        "iopl",
        "ioperm",
        "acct",
        "quotactl",
        "quotactl_fd",
        "lookup_dcookie",
        "uselib",
        // The host's clocks.
        "clock_settime",
        "settimeofday",
        "stime",
        "adjtimex",
        "clock_adjtime",
        // File handles bypass path-based access checks.
        "open_by_handle_at",
        "name_to_handle_at",
    };
    return names;
}

Expected<SeccompFilter> SeccompFilter::build() {
    FilterPtr ctx(::seccomp_init(SCMP_ACT_ALLOW), &::seccomp_release);
    if (!ctx) return fail(Failure::Kind::SetupError, "seccomp_init failed");
    RTFS_CHECK(check(::seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS),
                     "bad-arch action"));
    RTFS_CHECK(add_rules(ctx.get()));

    // libseccomp 2.5 exports BPF only to a descriptor.
    UniqueFd mem(::memfd_create("microvm-seccomp", MFD_CLOEXEC));
    if (!mem.valid()) return sys_failure("memfd_create", errno);
    RTFS_CHECK(check(::seccomp_export_bpf(ctx.get(), mem.get()), "export"));
    off_t size = ::lseek(mem.get(), 0, SEEK_END);
    if (size <= 0 || size % static_cast<off_t>(sizeof(sock_filter)) != 0) {
        return fail(Failure::Kind::SetupError, "seccomp export produced no program");
    }
    SeccompFilter filter;
    filter.instructions_.resize(static_cast<size_t>(size) / sizeof(sock_filter));
    if (::pread(mem.get(), filter.instructions_.data(), static_cast<size_t>(size), 0) != size) {
        return sys_failure("reading the seccomp program", errno);
    }
    return filter;
}

sock_fprog SeccompFilter::program() const {
    sock_fprog prog{};
    prog.len = static_cast<unsigned short>(instructions_.size());
    prog.filter = const_cast<sock_filter*>(instructions_.data());
    return prog;
}

bool install_seccomp(const sock_fprog* program) {
    return ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, program, 0, 0) == 0;
}

}  // namespace microvm::process
