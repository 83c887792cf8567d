// The system-call filter of a confined fork (host/confined_fork.hpp), as a classic BPF program:
// an allow-by-default list of refusals, because the child is a copy of the host running the
// host's own code (its allocator, libcurl, a sanitizer's runtime), not a program of unknown
// needs. What it refuses reaches past the process; what is left is what that code does.
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <vector>

#include "host/confined_fork.hpp"

namespace microvm::host {

// own_pid: the only process signals may go to (the child itself).
std::vector<sock_filter> confined_fork_filter(ChildRules::Sockets sockets, pid_t own_pid);

}  // namespace microvm::host
