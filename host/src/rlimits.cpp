#include "host/rlimits.hpp"

#include <sys/resource.h>

#include <algorithm>

namespace microvm::host {

Rlimit capped(int resource, uint64_t wanted) {
    struct rlimit current;
    uint64_t value = wanted;
    if (::getrlimit(resource, &current) == 0 && current.rlim_max != RLIM_INFINITY) {
        value = std::min<uint64_t>(value, current.rlim_max);
    }
    return Rlimit{resource, value};
}

std::vector<Rlimit> sandbox_rlimits(const RlimitSettings& settings) {
    return {
        {RLIMIT_CORE, kSandboxCoreLimit},
        capped(RLIMIT_FSIZE, settings.max_file_size_bytes),
        capped(RLIMIT_NOFILE, settings.max_open_files),
        capped(RLIMIT_SIGPENDING, kSandboxPendingSignals),
        capped(RLIMIT_MSGQUEUE, kSandboxMessageQueueBytes),
    };
}

}  // namespace microvm::host
