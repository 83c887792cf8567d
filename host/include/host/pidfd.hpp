// Processes watched through pidfds: opening one for a child, and whether it has exited without
// waiting (a sandbox built ahead is usable only while the process that holds it, an init or
// runsc run, still runs).
#pragma once

#include <sys/types.h>

#include "host/unique_fd.hpp"

namespace microvm::host {

// A pidfd for pid, which must be this process's unreaped child (else it may name a process that
// reused the pid); invalid where the kernel has none (Linux before 5.3) or on failure.
UniqueFd open_pidfd(pid_t pid);

// True once the process exited (its pidfd is readable), also when the pidfd cannot be polled
// (an unusable pidfd never says "still running"). Never blocks; the process is not reaped.
bool process_exited(int pidfd);

}  // namespace microvm::host
