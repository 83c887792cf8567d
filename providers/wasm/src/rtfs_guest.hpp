// The RTFS runtime compiled to wasm32-wasi (rtfs-guest.wasm), compiled once per provider and
// recompiled only when the file changes (path, size and mtime), so an RTFS run skips hashing and
// decoding a megabyte-sized module. The decoded module is also kept between processes in the
// module store (module_store.hpp) under the guest's SHA-256, so a one-shot CLI run skips decoding
// too; the digest itself is a boot record under the guest file's identity, so such a run does not
// read or hash the guest either. The guest's state after its initialisation is kept the same way
// (guest_snapshot.hpp), so a run skips interpreting the initialisation as well.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "guest_snapshot.hpp"
#include "microvm/error.hpp"

namespace microvm::wasm {

struct CompiledModule;
struct GuestSnapshot;

class RtfsGuestModule {
  public:
    // The module store in the per-user boot cache directory (host::boot_cache_dir()).
    RtfsGuestModule();
    // The module store in store_dir (used only if trusted, as the boot cache directory is);
    // empty: no store.
    // snapshots: false runs every initialisation afresh (tests compare the two).
    explicit RtfsGuestModule(std::string store_dir, bool snapshots = true);

    // The guest's exports: initialisation, then one run.
    static constexpr const char* kInitExport = "_initialize";
    static constexpr const char* kRunExport = "rtfs_guest_run";

    Expected<std::shared_ptr<const CompiledModule>> get();
    // The snapshot of module (as get() returned it) after kInitExport: from memory, the store,
    // or taken now (and stored); nullptr when there is none (snapshots off, module no longer the
    // current one, or the initialisation gives none: runs then initialise afresh).
    // bounds: the execution's deadline and cancel flag; a snapshot they cut short is tried again
    // by a later call.
    std::shared_ptr<const GuestSnapshot> snapshot(const std::shared_ptr<const CompiledModule>& module,
                                                  SnapshotBounds bounds = {});
    void clear();

    // Where the last get() found the module, and the last snapshot() the snapshot (Decoded:
    // taken).
    enum class Source { None, Memory, Store, Decoded };
    Source last_source() const;
    Source last_snapshot_source() const;
    // How many get() calls took the module from the store.
    uint64_t store_loads() const;

    // The store's file name: one per path of the running binary, so the CLI, the service and a
    // test binary do not overwrite each other's module on every run (a rebuild at the same path
    // replaces its own; the key inside decides whether a file is current).
    static std::string store_name();
    static std::string snapshot_store_name();

  private:
    std::optional<std::string> store_dir() const;
    std::optional<std::string> guest_digest(const std::string& dir, int fd,
                                            const nlohmann::json& identity);
    std::shared_ptr<const CompiledModule> load_or_decode(int fd, const std::string& path,
                                                         std::string* error);
    // The boot record (host/boot_cache.hpp) of the guest file's digest by its identity.
    static constexpr const char* kDigestRecord = "microvm-wasm-rtfs-guest.sha256";

    const std::optional<std::string> store_dir_;  // nullopt: the boot cache directory
    const bool snapshots_ = true;
    mutable std::mutex mu_;
    std::string path_;
    int64_t size_ = -1;
    int64_t mtime_ns_ = -1;
    std::shared_ptr<const CompiledModule> module_;
    std::string snapshot_dir_, snapshot_key_;  // where module_'s snapshot is kept; empty: nowhere
    std::shared_ptr<const GuestSnapshot> snapshot_;
    bool snapshot_tried_ = false;  // for module_
    Source last_source_ = Source::None;
    Source last_snapshot_source_ = Source::None;
    uint64_t store_loads_ = 0;
};

}  // namespace microvm::wasm
