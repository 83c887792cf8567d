#include "process/credentials.hpp"

#include <linux/capability.h>
#include <linux/securebits.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace microvm::process {

bool become_sandbox_user(const ChildPlan& plan, ChildFailure& f) {
    // Keep the capabilities across the uid change, and never treat uid 0 as special again.
    unsigned long bits = SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_NOROOT |
                         SECBIT_NOROOT_LOCKED;
    if (::prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) != 0) return failed(f, ChildStep::kSecureBits);
    if (plan.clear_groups && ::syscall(SYS_setgroups, 0, nullptr) != 0) {
        return failed(f, ChildStep::kSetGroups);
    }
    if (::syscall(SYS_setresgid, plan.gid, plan.gid, plan.gid) != 0) {
        return failed(f, ChildStep::kSetGid);
    }
    if (::syscall(SYS_setresuid, plan.uid, plan.uid, plan.uid) != 0) {
        return failed(f, ChildStep::kSetUid);
    }
    // A credential change clears the parent-death signal: set it again so the sandbox still dies
    // with the host.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) return failed(f, ChildStep::kDeathSignal);
    return true;
}

bool drop_all_privileges(const ChildPlan& plan, ChildFailure& f) {
    for (int cap = 0; cap <= plan.last_capability; ++cap) {
        if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
            return failed(f, ChildStep::kCapabilities, cap);
        }
    }
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
        return failed(f, ChildStep::kCapabilities);
    }
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    if (::syscall(SYS_capset, &header, data) != 0) return failed(f, ChildStep::kCapabilities);
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return failed(f, ChildStep::kNoNewPrivs);
    return true;
}

}  // namespace microvm::process
