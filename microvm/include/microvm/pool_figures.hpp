// What monitoring shows of a pool a provider keeps of its own (Provider::pool_figures).
#pragma once

#include <cstddef>
#include <cstdint>

namespace microvm {

// A pool a provider keeps of its own (the qemu provider's restored VMs, its `pool_size`), as
// monitoring shows it: ready now, the size it refills to, and executions it served or not.
struct ProviderPoolFigures {
    size_t ready = 0;
    size_t target = 0;
    uint64_t hits = 0;      // executions that took one of its sandboxes
    uint64_t misses = 0;    // executions that found none that fit
    uint64_t failures = 0;  // sandboxes it could not make
};

}  // namespace microvm
