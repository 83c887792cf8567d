// How a sandboxed program ended, and what that means for the result: one mapping for every
// provider that runs programs in an OS sandbox (process, gvisor, the VM providers), so the same
// ending gets the same status, error kind and message everywhere.
#pragma once

#include "microvm/config.hpp"
#include "microvm/result.hpp"

namespace microvm {

struct SandboxEnding {
    enum class Kind { Exited, TimedOut, MemoryExceeded, Signaled };
    Kind kind = Kind::Exited;
    int exit_code = 0;
    int signal = 0;
    // The guest runner reports RTFS results itself, so its exit code is not the program's.
    bool guest = false;
};

// Sets r.status and r.error (timeout, memory_exceeded, killed by SIGx, nonzero_exit).
void apply_ending(const SandboxEnding& ending, const MicroVMConfig& config, ExecutionResult& r);

// "SIGKILL" for 9, "signal N" when unknown.
std::string signal_name(int sig);

}  // namespace microvm
