// Child side (async-signal-safe): the sandbox's identity and privileges. Credential calls go
// straight to the kernel: glibc's wrappers broadcast to the host's threads, which do not exist
// in the child.
#pragma once

#include "process/child_failure.hpp"
#include "process/child_plan.hpp"

namespace microvm::process {

// Becomes the unprivileged uid/gid the host mapped into the user namespace, drops supplementary
// groups, and keeps the namespace capabilities the remaining setup needs (no setuid fixup).
bool become_sandbox_user(const ChildPlan& plan, ChildFailure& f);

// Right before exec: empties the bounding, ambient, effective, permitted and inheritable
// capability sets and sets no_new_privs, so nothing the program runs can gain a privilege.
bool drop_all_privileges(const ChildPlan& plan, ChildFailure& f);

}  // namespace microvm::process
