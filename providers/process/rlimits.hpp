// Child side of the resource limits (host/rlimits.hpp): the init's program child applies them.
#pragma once

#include "process/child_failure.hpp"
#include "process/child_plan.hpp"

namespace microvm::process {

// Async-signal-safe.
bool apply_rlimits(const ChildPlan& plan, ChildFailure& f);

}  // namespace microvm::process
