#include "process/child_report.hpp"

#include "host/sys_error.hpp"

namespace microvm::process {

using host::errno_text;
namespace {

const char* step_name(ChildStep step) {
    switch (step) {
        case ChildStep::kNone:
            return "setup";
        case ChildStep::kSyncWait:
            return "waiting for the host";
        case ChildStep::kJoinCgroup:
            return "joining the sandbox cgroup";
        case ChildStep::kCgroupNamespace:
            return "creating the cgroup namespace";
        case ChildStep::kUserNamespaceLimits:
            return "limiting the user namespace";
        case ChildStep::kMakePrivate:
            return "making mounts private";
        case ChildStep::kOpenSource:
            return "opening bind source";
        case ChildStep::kCloneTree:
            return "cloning bind source";
        case ChildStep::kMountAttributes:
            return "setting mount attributes of";
        case ChildStep::kSecureBits:
            return "setting securebits";
        case ChildStep::kSetGroups:
            return "dropping supplementary groups";
        case ChildStep::kSetGid:
            return "switching to the sandbox gid";
        case ChildStep::kSetUid:
            return "switching to the sandbox uid";
        case ChildStep::kDeathSignal:
            return "setting the parent-death signal";
        case ChildStep::kCreateRoot:
            return "creating the root tmpfs";
        case ChildStep::kAttachRoot:
            return "attaching the new root";
        case ChildStep::kMountPoint:
            return "creating mount point";
        case ChildStep::kMoveMount:
            return "mounting";
        case ChildStep::kTmpfs:
            return "mounting a tmpfs on";
        case ChildStep::kProc:
            return "mounting proc on";
        case ChildStep::kPrivateInstance:
            return "mounting a private instance on";
        case ChildStep::kSymlink:
            return "creating symlink";
        case ChildStep::kPivotRoot:
            return "pivot_root";
        case ChildStep::kDetachOldRoot:
            return "detaching the old root";
        case ChildStep::kRootReadOnly:
            return "making the root read-only";
        case ChildStep::kWorkdir:
            return "changing to the working directory";
        case ChildStep::kLoopback:
            return "bringing up loopback";
        case ChildStep::kEgressListener:
            return "listening for the egress proxy on 127.0.0.1";
        case ChildStep::kHostname:
            return "setting the hostname";
        case ChildStep::kSpawnProgram:
            return "starting the program process";
        case ChildStep::kSetsid:
            return "setsid";
        case ChildStep::kRedirectFds:
            return "redirecting stdin/stdout/stderr";
        case ChildStep::kRlimit:
            return "setting resource limit";
        case ChildStep::kCapabilities:
            return "dropping capabilities";
        case ChildStep::kNoNewPrivs:
            return "setting no_new_privs";
        case ChildStep::kSeccomp:
            return "installing the seccomp filter";
        case ChildStep::kExec:
            return "executing";
        case ChildStep::kLaunchMessage:
            return "reading the launch message";
    }
    return "setup";
}

bool names_mount(ChildStep step) {
    switch (step) {
        case ChildStep::kOpenSource:
        case ChildStep::kCloneTree:
        case ChildStep::kMountAttributes:
        case ChildStep::kMountPoint:
        case ChildStep::kMoveMount:
        case ChildStep::kTmpfs:
        case ChildStep::kProc:
        case ChildStep::kPrivateInstance:
            return true;
        default:
            return false;
    }
}

}  // namespace

std::string describe_failure(const ChildReport& report, const ChildPlan& plan) {
    std::string text = step_name(report.step);
    if (names_mount(report.step)) {
        const ChildMount* m = nullptr;
        if (report.detail >= 0 && static_cast<size_t>(report.detail) < plan.mount_count) {
            m = &plan.mounts[report.detail];
        }
        if (m) {
            bool source_side = report.step == ChildStep::kOpenSource ||
                               report.step == ChildStep::kCloneTree ||
                               report.step == ChildStep::kMountAttributes;
            text += " ";
            text += source_side && m->source ? m->source : "/" + std::string(m->target);
        }
    } else if (report.step == ChildStep::kSymlink &&
               static_cast<size_t>(report.detail) < plan.symlink_count) {
        text += " /" + std::string(plan.symlink_paths[report.detail]);
    } else if (report.step == ChildStep::kExec && plan.exec_path) {
        text += " " + std::string(plan.exec_path);
    }
    return text + ": " + errno_text(report.err);
}

}  // namespace microvm::process
