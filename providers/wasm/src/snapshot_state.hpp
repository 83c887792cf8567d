// Taking a guest's snapshot (guest_snapshot.hpp) from a wabt instance, and putting a fresh
// instance in its state.
#pragma once

#include <optional>
#include <vector>

#include "guest_snapshot.hpp"
#include "wabt/interp/interp.h"

namespace microvm::wasm {

// What a snapshot is taken against: an instance's tables and non-zero chunks of memory right
// after instantiation.
struct InstantiatedState {
    std::vector<wabt::interp::RefVec> tables;
    std::vector<uint32_t> nonzero_chunks;
};
InstantiatedState observe_instantiated(wabt::interp::Store& store,
                                       const wabt::interp::Instance& inst);

// Taken from an instance whose initialisation just returned, observed as fresh right after its
// instantiation. nullopt when the instance holds state a snapshot does not carry (see above).
std::optional<GuestSnapshot> capture_snapshot(wabt::interp::Store& store,
                                              const wabt::interp::Instance& inst,
                                              const InstantiatedState& fresh);

// Puts a freshly instantiated instance (nothing run yet) in the snapshot's state. False, with the
// instance unchanged, when the snapshot does not fit it: another shape of globals or memories,
// or more memory than the instance may have (its maximum, which the engine caps at
// memory_limit_mb): a fresh initialisation would then have grown past the cap, which the caller
// reproduces by running the initialisation itself.
bool restore_snapshot(wabt::interp::Store& store, const wabt::interp::Instance& inst,
                      const GuestSnapshot& snapshot);

}  // namespace microvm::wasm
