#include "process/rlimits.hpp"

#include <sys/resource.h>

namespace microvm::process {

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
