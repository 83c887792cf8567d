#include "module_cache.hpp"

#include "compiled_module.hpp"
#include "host/sha256.hpp"
#include "module_compiler.hpp"

namespace microvm::wasm {

ModuleCache::ModuleCache(size_t max_entries, size_t max_bytes)
    : max_entries_(max_entries), max_bytes_(max_bytes) {}

Expected<ModuleCache::Digest> ModuleCache::key_of(std::span<const uint8_t> bytes) {
    return host::sha256_hex({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
}

std::optional<ModuleCache::Known> ModuleCache::find(const Digest& key) {
    std::lock_guard lock(mu_);
    if (auto hit = find_locked(key)) return hit;
    ++stats_.misses;
    return std::nullopt;
}

void ModuleCache::insert(const Digest& key, Known known) {
    std::lock_guard lock(mu_);
    if (!find_locked(key)) insert_locked(key, std::move(known));
}

Expected<std::shared_ptr<const CompiledModule>> ModuleCache::get_or_compile(
    std::span<const uint8_t> bytes) {
    Expected<Digest> digest = key_of(bytes);
    if (!digest) return compile_module(bytes);  // no digest, no cache: compiled for this run only
    if (auto hit = find(*digest); hit && hit->module) return hit->module;
    RTFS_TRY(std::shared_ptr<const CompiledModule> module, compile_module(bytes));
    insert(*digest, {module});
    return module;
}

std::optional<ModuleCache::Known> ModuleCache::find_locked(const Digest& key) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return std::nullopt;
    lru_.splice(lru_.begin(), lru_, it->second.position);
    ++stats_.hits;
    return it->second.known;
}

void ModuleCache::insert_locked(const Digest& key, Known known) {
    // A marker costs its key; a module larger than the whole budget is used once and not kept.
    const size_t bytes = known.module ? known.module->footprint_bytes : key.size();
    if (bytes > max_bytes_ || max_entries_ == 0) return;
    stats_.bytes += bytes;
    lru_.push_front(key);
    entries_.emplace(key, Entry{std::move(known), bytes, lru_.begin()});
    while (entries_.size() > max_entries_ || stats_.bytes > max_bytes_) {
        auto victim = entries_.find(lru_.back());
        stats_.bytes -= victim->second.bytes;
        entries_.erase(victim);
        lru_.pop_back();
    }
    stats_.entries = entries_.size();
}

ModuleCache::Stats ModuleCache::stats() const {
    std::lock_guard lock(mu_);
    Stats s = stats_;
    s.entries = entries_.size();
    return s;
}

void ModuleCache::clear() {
    std::lock_guard lock(mu_);
    entries_.clear();
    lru_.clear();
    stats_.bytes = 0;
    stats_.entries = 0;
}

}  // namespace microvm::wasm
