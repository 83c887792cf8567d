#include "process/rlimits.hpp"

#include <sys/resource.h>

#include <algorithm>

namespace microvm::process {

std::vector<ChildRlimit> sandbox_rlimits(const RlimitSettings& settings) {
    auto capped = [](int resource, uint64_t wanted) {
        struct rlimit current;
        rlim_t value = static_cast<rlim_t>(wanted);
        if (::getrlimit(resource, &current) == 0 && current.rlim_max != RLIM_INFINITY) {
            value = std::min(value, current.rlim_max);
        }
        return ChildRlimit{resource, value};
    };
    return {
        {RLIMIT_CORE, 0},
        capped(RLIMIT_FSIZE, settings.max_file_size_bytes),
        capped(RLIMIT_NOFILE, settings.max_open_files),
    };
}

bool apply_rlimits(const ChildPlan& plan, ChildFailure& f) {
    for (size_t i = 0; i < plan.rlimit_count; ++i) {
        struct rlimit lim {
            plan.rlimits[i].value, plan.rlimits[i].value
        };
        if (::setrlimit(static_cast<__rlimit_resource>(plan.rlimits[i].resource), &lim) != 0) {
            return failed(f, ChildStep::kRlimit, static_cast<int>(i));
        }
    }
    return true;
}

}  // namespace microvm::process
