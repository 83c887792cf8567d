// The records a sandbox's init and program child send to the host over the report pipe: a setup
// step that failed (with errno), an exec that failed, or the program's wait status.
#pragma once

#include <cstdint>
#include <string>

#include "process/child_plan.hpp"

namespace microvm::process {

enum class ChildStep : int32_t {
    kNone = 0,
    kSyncWait,
    kJoinCgroup,
    kCgroupNamespace,
    kUserNamespaceLimits,  // detail: limit index
    kMakePrivate,
    kOpenSource,  // detail: mount index
    kCloneTree,
    kMountAttributes,
    kSecureBits,
    kSetGroups,
    kSetGid,
    kSetUid,
    kDeathSignal,
    kCreateRoot,
    kAttachRoot,
    kMountPoint,  // detail: mount index
    kMoveMount,   // detail: mount index
    kTmpfs,       // detail: mount index
    kProc,        // detail: mount index
    kPrivateInstance,  // detail: mount index (Full: a private devpts or mqueue over the host's)
    kSymlink,     // detail: symlink index
    kPivotRoot,
    kDetachOldRoot,
    kRootReadOnly,
    kWorkdir,
    kLoopback,
    kEgressListener,
    kHostname,
    kSpawnProgram,
    kSetsid,
    kRedirectFds,
    kRlimit,  // detail: rlimit index
    kCapabilities,
    kNoNewPrivs,
    kSeccomp,
    kExec,
    kLaunchMessage,  // a sandbox built ahead: the host's launch message was malformed
};

struct ChildReport {
    // kReady: a sandbox built ahead is complete and waits for its launch message.
    enum Kind : int32_t { kSetupFailed = 1, kExecFailed = 2, kProgramEnded = 3, kReady = 4 };
    int32_t kind = 0;
    ChildStep step = ChildStep::kNone;
    int32_t detail = 0;
    int32_t err = 0;          // errno of the failed step
    int32_t wait_status = 0;  // kProgramEnded: the program's wait status
};

// "mount /usr/lib (bind): Permission denied" style text for a failed step.
std::string describe_failure(const ChildReport& report, const ChildPlan& plan);

}  // namespace microvm::process
