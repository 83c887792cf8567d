// Child side (async-signal-safe): a fresh network namespace starts with its loopback interface
// down; bring it up so the program can still talk to itself on 127.0.0.1.
#pragma once

#include "process/child_failure.hpp"

namespace microvm::process {

bool bring_up_loopback(ChildFailure& f);

}  // namespace microvm::process
