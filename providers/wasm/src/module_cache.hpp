// Compiled modules by content hash (SHA-256, host/sha256.hpp), so a module's second run skips decoding and validation.
// Thread-safe; bounded by entry count and approximate bytes, evicting the least recently used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>

#include "microvm/error.hpp"
#include <string>

namespace microvm::wasm {

struct CompiledModule;  // compiled_module.hpp (keeps wabt headers out of this one)

class ModuleCache {
  public:
    struct Stats {
        uint64_t hits = 0;
        uint64_t misses = 0;
        size_t entries = 0;
        size_t bytes = 0;
    };

    ModuleCache(size_t max_entries, size_t max_bytes);

    // The compiled module for these bytes: from the cache, or compiled in this process (outside
    // the lock) and inserted. Compilation errors are not cached. For trusted modules and tests:
    // the provider compiles hostile modules in a confined child (engine_process.hpp), with
    // key_of, find and insert.
    Expected<std::shared_ptr<const CompiledModule>> get_or_compile(std::span<const uint8_t> bytes);

    using Digest = std::string;  // SHA-256 of the module, hex
    static Expected<Digest> key_of(std::span<const uint8_t> bytes);
    // What is known of a module: its compiled form, or (module null) that it compiled but holds
    // what the module codec does not carry, so each run's child compiles it from its bytes and
    // no compiler's child needs to find that out again.
    struct Known {
        std::shared_ptr<const CompiledModule> module;
    };
    // What is cached under key (a hit), or nullopt (a miss); both counted.
    std::optional<Known> find(const Digest& key);
    // Keeps known under key unless something is there already (raced) or it is larger than the
    // bound.
    void insert(const Digest& key, Known known);

    Stats stats() const;
    void clear();

  private:
    using Lru = std::list<Digest>;  // front = most recently used
    struct Entry {
        Known known;
        size_t bytes;  // counted against max_bytes_
        Lru::iterator position;
    };

    std::optional<Known> find_locked(const Digest& key);
    void insert_locked(const Digest& key, Known known);

    const size_t max_entries_;
    const size_t max_bytes_;
    mutable std::mutex mu_;
    std::map<Digest, Entry> entries_;
    Lru lru_;
    Stats stats_;
};

}  // namespace microvm::wasm
