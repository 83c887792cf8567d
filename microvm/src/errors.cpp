#include "microvm/errors.hpp"

#include <string.h>

namespace microvm {

void set_error(ExecutionResult& r, Reason reason, std::string message, std::string kind) {
    if (kind.empty()) kind = to_string(reason);
    r.status = status_for(reason, kind);
    r.error = ExecutionError{reason, std::move(kind), std::move(message)};
}

std::string signal_name(int sig) {
    const char* abbrev = ::sigabbrev_np(sig);
    return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

std::string reason_message(Reason reason, const MicroVMConfig& config, int signal,
                           int exit_code) {
    switch (reason) {
        case Reason::Timeout:
            return "execution exceeded the timeout of " + format_duration(config.timeout);
        case Reason::MemoryExceeded:
            return "execution exceeded the memory limit of " +
                   std::to_string(config.memory_limit_mb) + " MiB";
        case Reason::Cancelled:
            return "the execution was cancelled";
        case Reason::ProcessLimit:
            return "the sandbox reached its host task budget (from the process limit of " +
                   std::to_string(config.max_processes) + ") and was stopped";
        case Reason::Signaled:
            return "the program was killed by " + signal_name(signal);
        case Reason::NonzeroExit:
            return "the program exited with code " + std::to_string(exit_code);
        default:
            return to_string(reason);
    }
}

}  // namespace microvm
