// The state of a guest right after its initialisation export (the RTFS guest's _initialize: the C
// and C++ constructors and the runtime's set-up), so a run can start from it instead of
// interpreting that initialisation again (what Wizer does for Wasmtime).
//
// A snapshot is taken only from a dedicated run of the initialisation alone, in which every host
// function traps: an initialisation that reads anything (arguments, environment, clock,
// randomness, files) or writes anything gives no snapshot, so a snapshot never depends on a
// program, a configuration or another run. It holds what such an initialisation can change:
// linear memory 0 (its size and its non-zero 4 KiB chunks) and the globals. Tables must be as
// instantiation left them, and memory 0 the only memory, or there is no snapshot.
//
// Kept between processes next to the decoded module (module_store.hpp), with the same trust
// rules and a key that names the module's key and the initialisation export; the bytes are
// checked as strictly as a stored module's (anything that does not decode is ignored and the
// snapshot taken again). Taking and restoring: snapshot_state.hpp.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace microvm::wasm {

inline constexpr size_t kSnapshotChunkBytes = 4096;

// Bounds of a snapshot taken on behalf of an execution: its deadline and cancel flag (the
// initialisation counts against its timeout). interrupted (if given) is set when they, not the
// module, ended the initialisation: a later attempt may succeed.
struct SnapshotBounds {
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    const std::atomic<bool>* cancel = nullptr;
    bool* interrupted = nullptr;
};

struct GuestSnapshot {
    uint64_t memory_pages = 0;          // memory 0's size, in 64 KiB pages
    std::vector<uint32_t> chunk_index;  // its chunks to write, strictly ascending (capture_snapshot)
    std::string chunk_bytes;            // their bytes, kSnapshotChunkBytes each, in that order
    std::vector<uint64_t> globals;      // every global's value (i32 and f32 in the low bits)
};

// The snapshot as bytes under key, and back (nullptr for another key, or bytes that are
// truncated, corrupt or inconsistent).
std::string encode_snapshot(const GuestSnapshot& snapshot, std::string_view key);
std::shared_ptr<const GuestSnapshot> decode_snapshot(std::string_view bytes, std::string_view key);

// The key of the snapshot of the module stored under module_key, taken after init_export.
std::string snapshot_key(std::string_view module_key, std::string_view init_export);
// nullptr when there is no trusted, current and intact snapshot under name in dir.
std::shared_ptr<const GuestSnapshot> load_stored_snapshot(const std::string& dir,
                                                          const std::string& name,
                                                          std::string_view key);
// Best effort (written atomically, mode 0600): false when it could not be kept.
bool store_snapshot(const std::string& dir, const std::string& name, std::string_view key,
                    const GuestSnapshot& snapshot);

}  // namespace microvm::wasm
