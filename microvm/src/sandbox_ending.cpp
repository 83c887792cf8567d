#include "microvm/sandbox_ending.hpp"

#include <string.h>

#include <string>

#include "microvm/policy.hpp"

namespace microvm {

std::string signal_name(int sig) {
    const char* abbrev = ::sigabbrev_np(sig);
    return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

void apply_ending(const SandboxEnding& ending, const MicroVMConfig& config, ExecutionResult& r) {
    auto set = [&](Status status, const char* kind, std::string message) {
        r.status = status;
        r.error = ExecutionError{kind, std::move(message)};
    };
    switch (ending.kind) {
        case SandboxEnding::Kind::TimedOut:
            return set(Status::Timeout, "timeout",
                       "execution exceeded the timeout of " + format_duration(config.timeout));
        case SandboxEnding::Kind::MemoryExceeded:
            return set(Status::MemoryExceeded, "memory_exceeded",
                       "execution exceeded the memory limit of " +
                           std::to_string(config.memory_limit_mb) + " MiB");
        case SandboxEnding::Kind::Signaled:
            return set(Status::Killed, "killed",
                       "the program was killed by " + signal_name(ending.signal));
        case SandboxEnding::Kind::Exited:
            if (!ending.guest && ending.exit_code != 0) {
                return set(Status::RuntimeError, "nonzero_exit",
                           "the program exited with code " + std::to_string(ending.exit_code));
            }
            r.status = Status::Ok;
            r.error.reset();
            return;
    }
}

}  // namespace microvm
