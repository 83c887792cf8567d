// Layout (host byte order, like the stored module: module_codec.cpp):
//   magic (8 bytes) | checksum of the rest (u64) | key | memory pages (u64) | globals (u64 each)
//   | chunk indices (u32 each) | chunk bytes
// Vectors and strings are a u32 count followed by the elements.
#include "guest_snapshot.hpp"
#include "snapshot_state.hpp"
#include "unfilled_memory.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>

#include <nlohmann/json.hpp>

#include "codec_io.hpp"
#include "host/boot_cache.hpp"

namespace microvm::wasm {
namespace {

namespace wi = wabt::interp;

constexpr char kMagic[codec::kMagicBytes] = {'M', 'V', 'W', 'S', 'N', 'A', 'P', '1'};
constexpr uint64_t kPageBytes = 64 * 1024;
constexpr uint64_t kMaxPages = 65536;
constexpr uint64_t kChunksPerPage = kPageBytes / kSnapshotChunkBytes;
// Bounds what a planted file can make the host read and allocate (the RTFS guest's is well
// under 1 MiB: its data, its heap after initialisation, the stack it used).
constexpr size_t kMaxStoredSnapshotBytes = 64u << 20;

bool is_numeric(wabt::Type type) {
    return type == wabt::Type::I32 || type == wabt::Type::I64 || type == wabt::Type::F32 ||
           type == wabt::Type::F64;
}
bool is_wide(wabt::Type type) { return type == wabt::Type::I64 || type == wabt::Type::F64; }

uint64_t bits_of(const wi::Global& g) {
    const wi::Value v = g.Get();
    return is_wide(g.type().type) ? v.Get<uint64_t>() : v.Get<uint32_t>();
}
wi::Value value_of(wabt::Type type, uint64_t bits) {
    return is_wide(type) ? wi::Value::Make(bits) : wi::Value::Make(static_cast<uint32_t>(bits));
}

bool all_zero(const uint8_t* p, size_t n) {
    static const uint8_t zeros[kSnapshotChunkBytes] = {};
    return std::memcmp(p, zeros, n) == 0;
}

}  // namespace

std::vector<uint32_t> nonzero_chunks(const wi::Memory& memory) {
    std::vector<uint32_t> chunks;
    const uint8_t* data = const_cast<wi::Memory&>(memory).UnsafeData();
    const uint64_t count = memory.ByteSize() / kSnapshotChunkBytes;
    for (uint64_t c = 0; c < count; ++c)
        if (!all_zero(data + c * kSnapshotChunkBytes, kSnapshotChunkBytes))
            chunks.push_back(static_cast<uint32_t>(c));
    return chunks;
}

InstantiatedState observe_instantiated(wi::Store& store, const wi::Instance& inst) {
    InstantiatedState state;
    for (wi::Ref t : inst.tables()) state.tables.push_back(store.UnsafeGet<wi::Table>(t)->elements());
    if (inst.memories().size() == 1)
        state.nonzero_chunks = nonzero_chunks(*store.UnsafeGet<wi::Memory>(inst.memories()[0]));
    return state;
}

std::optional<GuestSnapshot> capture_snapshot(wi::Store& store, const wi::Instance& inst,
                                              const InstantiatedState& fresh) {
    if (inst.memories().size() != 1) return std::nullopt;
    if (observe_instantiated(store, inst).tables != fresh.tables) return std::nullopt;
    GuestSnapshot snap;
    for (wi::Ref ref : inst.globals()) {
        const wi::Global& g = *store.UnsafeGet<wi::Global>(ref);
        if (!is_numeric(g.type().type)) return std::nullopt;
        snap.globals.push_back(bits_of(g));
    }
    wi::Memory& memory = *store.UnsafeGet<wi::Memory>(inst.memories()[0]);
    snap.memory_pages = memory.PageSize();
    // Every chunk that is not zero now or was not zero at instantiation (the data segments): a
    // restore writes exactly these into a freshly instantiated memory.
    std::vector<uint32_t> now = nonzero_chunks(memory);
    std::set_union(now.begin(), now.end(), fresh.nonzero_chunks.begin(), fresh.nonzero_chunks.end(),
                   std::back_inserter(snap.chunk_index));
    const uint8_t* data = memory.UnsafeData();
    for (uint32_t c : snap.chunk_index)
        snap.chunk_bytes.append(reinterpret_cast<const char*>(data) + c * kSnapshotChunkBytes,
                                kSnapshotChunkBytes);
    return snap;
}

bool restore_snapshot(wi::Store& store, const wi::Instance& inst, const GuestSnapshot& snap) {
    // Everything is checked before the first change, so a refusal leaves the instance as it was.
    if (inst.memories().size() != 1 || inst.globals().size() != snap.globals.size()) return false;
    for (size_t i = 0; i < snap.globals.size(); ++i) {
        const wi::Global& g = *store.UnsafeGet<wi::Global>(inst.globals()[i]);
        if (!is_numeric(g.type().type)) return false;
        if (g.type().mut == wi::Mutability::Const && bits_of(g) != snap.globals[i]) return false;
    }
    wi::Memory& memory = *store.UnsafeGet<wi::Memory>(inst.memories()[0]);
    const uint64_t now = memory.PageSize();
    const wabt::Limits& limits = memory.type().limits;
    if (snap.memory_pages < now || (limits.has_max && snap.memory_pages > limits.max)) return false;
    if (snap.chunk_bytes.size() != snap.chunk_index.size() * kSnapshotChunkBytes) return false;
    if (!snap.chunk_index.empty() &&
        snap.chunk_index.back() >= snap.memory_pages * kChunksPerPage) {
        return false;
    }
    // As memory.grow does (unfilled_memory.hpp): wabt's Grow filled and copied a memory the
    // snapshot's init had grown to gigabytes at every restore (a review, 2026-12-07).
    if (snap.memory_pages > now && !grow_unfilled(memory, snap.memory_pages - now)) return false;
    // The memory is as instantiation left it: every chunk that is not zero then or in the
    // snapshot is in the snapshot (capture_snapshot).
    uint8_t* data = memory.UnsafeData();
    for (size_t i = 0; i < snap.chunk_index.size(); ++i) {
        std::memcpy(data + size_t{snap.chunk_index[i]} * kSnapshotChunkBytes,
                    snap.chunk_bytes.data() + i * kSnapshotChunkBytes, kSnapshotChunkBytes);
    }
    for (size_t i = 0; i < snap.globals.size(); ++i) {
        wi::Global& g = *store.UnsafeGet<wi::Global>(inst.globals()[i]);
        if (g.type().mut == wi::Mutability::Var) g.UnsafeSet(value_of(g.type().type, snap.globals[i]));
    }
    return true;
}

std::string encode_snapshot(const GuestSnapshot& snap, std::string_view key) {
    codec::Writer w;
    w.string(key);
    w.pod(snap.memory_pages);
    w.vec(snap.globals, [&](uint64_t g) { w.pod(g); });
    w.vec(snap.chunk_index, [&](uint32_t c) { w.pod(c); });
    w.bytes(snap.chunk_bytes.data(), snap.chunk_bytes.size());
    return codec::seal(kMagic, w.take());
}

std::shared_ptr<const GuestSnapshot> decode_snapshot(std::string_view bytes, std::string_view key) {
    std::string_view body;
    if (!codec::unseal(bytes, kMagic, body)) return nullptr;
    codec::Reader r(body);
    if (r.bytes() != key || !r.ok()) return nullptr;
    auto snap = std::make_shared<GuestSnapshot>();
    snap->memory_pages = r.pod<uint64_t>();
    snap->globals = r.vec<uint64_t>(sizeof(uint64_t), [&] { return r.pod<uint64_t>(); });
    snap->chunk_index = r.vec<uint32_t>(sizeof(uint32_t), [&] { return r.pod<uint32_t>(); });
    const std::string_view chunks = r.bytes();
    if (!r.ok() || !r.at_end() || snap->memory_pages > kMaxPages) return nullptr;
    if (chunks.size() != snap->chunk_index.size() * kSnapshotChunkBytes) return nullptr;
    for (size_t i = 0; i < snap->chunk_index.size(); ++i) {
        if (snap->chunk_index[i] >= snap->memory_pages * kChunksPerPage) return nullptr;
        if (i > 0 && snap->chunk_index[i] <= snap->chunk_index[i - 1]) return nullptr;
    }
    snap->chunk_bytes.assign(chunks);
    return snap;
}

std::string snapshot_key(std::string_view module_key, std::string_view init_export) {
    return nlohmann::json{{"format", 1}, {"module", module_key}, {"init", init_export}}.dump();
}

std::shared_ptr<const GuestSnapshot> load_stored_snapshot(const std::string& dir,
                                                          const std::string& name,
                                                          std::string_view key) {
    auto bytes = host::read_trusted_file(dir + "/" + name, kMaxStoredSnapshotBytes);
    if (!bytes) return nullptr;
    return decode_snapshot(*bytes, key);
}

bool store_snapshot(const std::string& dir, const std::string& name, std::string_view key,
                    const GuestSnapshot& snap) {
    const std::string bytes = encode_snapshot(snap, key);
    if (bytes.size() > kMaxStoredSnapshotBytes) return false;
    return host::write_file_atomically(dir + "/" + name, bytes);
}

}  // namespace microvm::wasm
