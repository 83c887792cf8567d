// The sandbox's init: the child of clone, pid 1 of the new pid namespace. It waits until the
// host has mapped its ids and placed it in the cgroup, builds the sandbox (mounts, identity,
// loopback, hostname), starts the program as its only child (vfork-style, which drops every
// privilege, installs seccomp and execs), reaps everything, reports the program's wait status
// and exits — which makes the kernel kill whatever the program left behind in the namespace.
// It dies with the host thread that cloned it (PR_SET_PDEATHSIG).
#pragma once

#include "process/child_plan.hpp"

namespace microvm::process {

// Child side (async-signal-safe). Never returns.
[[noreturn]] void run_init(const ChildPlan& plan);

}  // namespace microvm::process
