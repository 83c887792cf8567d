// Locating and loading the RTFS runtime compiled to wasm32-wasi. Running it goes through
// run_module (engine.hpp) with the job on stdin and the result frame read from fd 3.
#include "rtfs_guest.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "host/boot_cache.hpp"
#include "host/sha256.hpp"
#include "host/unique_fd.hpp"
#include "microvm/built_programs.hpp"
#include "microvm/trusted_path.hpp"
#include "microvm/wasm/wasm_provider.hpp"
#include "engine.hpp"
#include "engine_limits.hpp"
#include "guest_snapshot.hpp"
#include "module_compiler.hpp"
#include "module_store.hpp"

namespace microvm {
namespace {

// Names the open file itself (stat follows it to the inode), whatever its path now names.
std::string fd_path(int fd) {
    return "/proc/self/fd/" + std::to_string(fd);
}

bool is_file(const std::string& path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Stored modules and snapshots are named after the running binary's path (store_name()), so
// builds at new paths (worktrees, fresh clones) would add ~2 MiB each until the next boot, in
// memory on /run: those of the binaries that stored last are kept.
constexpr const char* kStorePrefix = "microvm-wasm-rtfs-guest.";
constexpr size_t kStoredBinaries = 8;

void prune_stored(const std::string& dir) {
    host::prune_boot_records(dir, kStorePrefix, ".module", kStoredBinaries);
    host::prune_boot_records(dir, kStorePrefix, ".snapshot", kStoredBinaries);
}

}  // namespace

Expected<std::string> find_rtfs_guest_wasm() {
    const ProgramSearch where = default_search(kRtfsWasmGuest);
    if (where.env) {
        if (!is_file(*where.env)) {
            return fail(Failure::Kind::ProviderUnavailable,
                        "MICROVM_RTFS_WASM names " + *where.env + ", which is not a file");
        }
        // As $MICROVM_GUEST: a module another user could replace is refused.
        auto trusted = owned_real_path(*where.env, "RTFS guest module $MICROVM_RTFS_WASM");
        if (!trusted) return fail(Failure::Kind::ProviderUnavailable, trusted.error().message);
        return *trusted;  // as judged: the path given may pass through another user's symlink
    }
    SearchedProgram found = search_candidates(kRtfsWasmGuest, where, /*executable=*/false, "RTFS guest module");
    if (found.trusted) return std::move(*found.trusted);
    std::string places;
    for (const std::string& l : found.looked) places += (places.empty() ? "" : ", ") + l;
    return fail(Failure::Kind::ProviderUnavailable,
                std::string(found.refused ? "no trusted rtfs-guest.wasm found"
                                          : "rtfs-guest.wasm was not built (needs clang-19 + wasi-libc)") +
                    "; looked in " + places + " (or set MICROVM_RTFS_WASM)");
}

namespace wasm {

RtfsGuestModule::RtfsGuestModule() = default;
RtfsGuestModule::RtfsGuestModule(std::string store_dir, bool snapshots)
    : store_dir_(std::move(store_dir)), snapshots_(snapshots) {}

std::optional<std::string> RtfsGuestModule::store_dir() const {
    if (!store_dir_) return host::boot_cache_dir();
    if (store_dir_->empty()) return std::nullopt;
    auto dir = host::trusted_cache_dir(*store_dir_, "wasm module store");
    return dir ? std::optional<std::string>(*dir) : std::nullopt;
}

Expected<std::shared_ptr<const CompiledModule>> RtfsGuestModule::get() {
    auto path = find_rtfs_guest_wasm();
    if (!path) return rtfs::Unexpected<Failure>{path.error()};
    struct stat st;
    if (stat(path->c_str(), &st) != 0) {
        return fail(Failure::Kind::ProviderUnavailable, "cannot stat " + *path);
    }
    const int64_t mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
    std::lock_guard lock(mu_);
    if (module_ && path_ == *path && size_ == st.st_size && mtime_ns_ == mtime_ns) {
        last_source_ = Source::Memory;
        return module_;
    }
    // A regular file only (a FIFO swapped in would block open(2), a device could be acted on).
    auto opened = host::open_regular_file(*path);
    if (!opened) return fail(Failure::Kind::ProviderUnavailable, opened.error().message);
    host::UniqueFd fd = std::move(*opened);
    std::string error;
    snapshot_dir_.clear();
    snapshot_key_.clear();
    auto module = load_or_decode(fd.get(), *path, &error);
    if (!module) return fail(Failure::Kind::ProviderUnavailable, error);
    module_ = std::move(module);
    snapshot_.reset();
    snapshot_tried_ = false;
    path_ = *path;
    size_ = st.st_size;
    mtime_ns_ = mtime_ns;
    return module_;
}

// The guest's SHA-256 from a boot record under the open file's identity (so a run that finds its
// module in the store reads no module bytes), else hashed and recorded. nullopt when it cannot
// be had, or when the file changed while it was hashed.
std::optional<std::string> RtfsGuestModule::guest_digest(const std::string& dir, int fd,
                                                         const nlohmann::json& identity) {
    auto known = host::read_boot_record(dir, kDigestRecord, identity);
    if (known && known->is_string()) return known->get<std::string>();
    auto digest = host::sha256_hex_of_file(fd);
    if (!digest || host::file_identity(fd_path(fd)) != identity) return std::nullopt;
    host::write_boot_record(dir, kDigestRecord, identity, *digest);
    return *digest;
}

// The identity is that of the open file (not the path, which may be replaced meanwhile), taken
// before hashing and after reading it: a module rewritten meanwhile is used but not stored.
std::shared_ptr<const CompiledModule> RtfsGuestModule::load_or_decode(int fd,
                                                                      const std::string& path,
                                                                      std::string* error) {
    const auto identity = host::file_identity(fd_path(fd));
    const auto dir = identity ? store_dir() : std::nullopt;
    const auto digest = dir ? guest_digest(*dir, fd, *identity) : std::nullopt;
    const std::string key = digest ? stored_module_key(*digest) : std::string();
    // The snapshot's key (cleared by get()) names the digest only while it is the digest of what
    // is decoded: set with a stored module, or below once the file read proved unchanged.
    if (digest) {
        if (auto stored = load_stored_module(*dir, store_name(), key)) {
            last_source_ = Source::Store;
            ++store_loads_;
            snapshot_dir_ = *dir;
            snapshot_key_ = snapshot_key(key, kInitExport);
            return stored;
        }
    }
    std::optional<std::string> bytes = host::read_to_end(fd, limits::kMaxModuleBytes);
    if (!bytes) {
        *error = "cannot read " + path + " (at most " + std::to_string(limits::kMaxModuleBytes) +
                 " bytes)";
        return nullptr;
    }
    auto compiled = compile_module({reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()});
    if (!compiled) {
        *error = path + " is not a valid module: " + compiled.error().message;
        return nullptr;
    }
    if (digest && host::file_identity(fd_path(fd)) == identity) {
        if (store_module(*dir, store_name(), key, **compiled)) prune_stored(*dir);
        snapshot_dir_ = *dir;
        snapshot_key_ = snapshot_key(key, kInitExport);
    }
    last_source_ = Source::Decoded;
    return *compiled;
}

// A snapshot is taken only of a module decoded or loaded by this object, and stored only under
// the key of that module's digest.
std::shared_ptr<const GuestSnapshot> RtfsGuestModule::snapshot(
    const std::shared_ptr<const CompiledModule>& module, SnapshotBounds bounds) {
    std::lock_guard lock(mu_);
    if (!snapshots_ || !module_ || module != module_) return nullptr;
    if (snapshot_tried_) {
        last_snapshot_source_ = Source::Memory;
        return snapshot_;
    }
    snapshot_tried_ = true;
    if (!snapshot_key_.empty()) {
        snapshot_ = load_stored_snapshot(snapshot_dir_, snapshot_store_name(), snapshot_key_);
        if (snapshot_) {
            last_snapshot_source_ = Source::Store;
            return snapshot_;
        }
    }
    bool interrupted = false;
    bounds.interrupted = &interrupted;
    auto taken = initialise_for_snapshot(*module_, kInitExport, limits::kRtfsGuestCallDepth, bounds);
    last_snapshot_source_ = Source::Decoded;
    if (!taken) {
        if (interrupted) snapshot_tried_ = false;  // the execution's time ran out, not the module's
        return nullptr;  // this run (or every run) initialises afresh
    }
    snapshot_ = std::make_shared<const GuestSnapshot>(std::move(*taken));
    if (!snapshot_key_.empty()) {
        if (store_snapshot(snapshot_dir_, snapshot_store_name(), snapshot_key_, *snapshot_)) {
            prune_stored(snapshot_dir_);
        }
    }
    return snapshot_;
}

std::string RtfsGuestModule::snapshot_store_name() {
    std::string name = store_name();
    return name.substr(0, name.size() - std::string_view(".module").size()) + ".snapshot";
}

RtfsGuestModule::Source RtfsGuestModule::last_snapshot_source() const {
    std::lock_guard lock(mu_);
    return last_snapshot_source_;
}

std::string RtfsGuestModule::store_name() {
    const std::string binary = own_executable();
    char tag[17];
    std::snprintf(tag, sizeof tag, "%016zx", std::hash<std::string>{}(binary));
    return std::string(kStorePrefix) + tag + ".module";
}

RtfsGuestModule::Source RtfsGuestModule::last_source() const {
    std::lock_guard lock(mu_);
    return last_source_;
}

uint64_t RtfsGuestModule::store_loads() const {
    std::lock_guard lock(mu_);
    return store_loads_;
}

void RtfsGuestModule::clear() {
    std::lock_guard lock(mu_);
    module_.reset();
}

}  // namespace wasm
}  // namespace microvm
