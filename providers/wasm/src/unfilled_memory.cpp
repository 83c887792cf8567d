#include "unfilled_memory.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <new>
#include <cstring>
#include <vector>

#include "wabt_internals.hpp"

namespace microvm::wasm {
namespace {

namespace wi = wabt::interp;

constexpr uint64_t kPageBytes = 64 * 1024;

uint32_t u32_at(const wi::Buffer& code, size_t at) {
    uint32_t v;
    std::memcpy(&v, code.data() + at, sizeof v);
    return v;
}

// The offset of an init expression that is exactly "i32.const N; return" in wabt's instruction
// stream (opcode u32, immediate u32, opcode u32), or nullopt for anything else.
std::optional<uint32_t> constant_offset(wi::Istream& istream, const wi::FuncDesc& init) {
    const wi::Buffer& code = internals::bytes(istream);
    constexpr size_t kBytes = 3 * sizeof(uint32_t);
    if (init.code_offset > code.size() || code.size() - init.code_offset < kBytes) {
        return std::nullopt;
    }
    using Op = wabt::Opcode;
    if (u32_at(code, init.code_offset) != static_cast<uint32_t>(Op::Enum(Op::I32Const)) ||
        u32_at(code, init.code_offset + 8) != static_cast<uint32_t>(Op::Enum(Op::Return))) {
        return std::nullopt;
    }
    return u32_at(code, init.code_offset + 4);
}

// Sets v's size to n (<= its capacity) without writing its bytes. libstdc++ keeps a vector's
// [start, finish, end of storage) in its base _Vector_base::_M_impl (part of its stable ABI); the
// cast is the C-style one because that base is protected.
void set_size_unwritten(wi::Buffer& v, size_t n) {
    using Base = std::_Vector_base<wi::Buffer::value_type, wi::Buffer::allocator_type>;
    auto& impl = ((Base&)v)._M_impl;
    impl._M_finish = impl._M_start + n;
}

// Makes [p, p + n) read as zero: the whole pages inside it are dropped (private anonymous memory,
// which is what malloc hands out, reads as zero afterwards and is faulted in when touched), the
// partial pages at either end are written.
void zero_lazily(uint8_t* p, size_t n) {
    if (n == 0) return;  // p may be null (an empty memory)
    const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    const uintptr_t begin = reinterpret_cast<uintptr_t>(p);
    const uintptr_t first = (begin + page - 1) & ~(page - 1);
    const uintptr_t last = (begin + n) & ~(page - 1);
    if (first >= last ||
        madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED) != 0) {
        std::memset(p, 0, n);
        return;
    }
    std::memset(p, 0, first - begin);
    std::memset(reinterpret_cast<void*>(last), 0, begin + n - last);
}

// Moves data to new storage of `capacity` bytes, whose first `zeroed` bytes read zero but for
// data's own, copied there. std::bad_alloc leaves data as it was.
void move_to_storage(wi::Buffer& data, size_t capacity, size_t zeroed) {
    wi::Buffer larger;
    larger.reserve(capacity);
    zero_lazily(larger.data(), zeroed);
    if (!data.empty()) std::memcpy(larger.data(), data.data(), data.size());
    set_size_unwritten(larger, data.size());
    data.swap(larger);
}

}  // namespace

std::optional<uint64_t> data_segment_pages(wi::ModuleDesc& desc) {
    for (const auto& import : desc.imports)
        if (import.type.type->kind == wabt::ExternalKind::Memory) return std::nullopt;
    if (desc.memories.empty()) return std::nullopt;
    uint64_t end = 0;
    for (const auto& data : desc.datas) {
        if (data.mode != wabt::SegmentKind::Active || data.memory_index != 0) continue;
        auto offset = constant_offset(desc.istream, data.init_func);
        if (!offset) return std::nullopt;
        end = std::max<uint64_t>(end, uint64_t{*offset} + data.data.size());
    }
    return (end + kPageBytes - 1) / kPageBytes;
}

void extend_with_unfilled_pages(wi::Memory& memory, uint64_t pages) {
    wi::Buffer& data = internals::bytes(memory);
    const size_t bytes = pages * kPageBytes;
    if (bytes <= data.size()) return;
#if defined(__GLIBCXX__)
    move_to_storage(data, bytes, bytes);
    set_size_unwritten(data, bytes);
#else
    data.resize(bytes);
#endif
    internals::type(memory).limits.initial += pages - internals::pages(memory);
    internals::pages(memory) = pages;
}

bool grow_unfilled(wi::Memory& memory, uint64_t delta) {
    // wabt's rule (CanGrow): at most the maximum, or 65536 pages without one (memory32).
    const wabt::Limits& limits = internals::type(memory).limits;
    const uint64_t old_pages = internals::pages(memory);
    const uint64_t max_pages = limits.has_max ? limits.max : uint64_t{65536};
    if (old_pages > max_pages || max_pages - old_pages < delta) return false;
    const uint64_t new_pages = old_pages + delta;
    if (delta == 0) return true;
#if defined(__GLIBCXX__)
    wi::Buffer& data = internals::bytes(memory);
    const size_t old_bytes = data.size(), bytes = new_pages * kPageBytes;
    if (bytes > data.capacity()) {
        // Storage for the largest the memory may become: address space, not memory, until touched.
        const uint64_t most = max_pages * kPageBytes;
        try {
            move_to_storage(data, std::max<uint64_t>(bytes, most), bytes);
        } catch (const std::bad_alloc&) {
            // No address space for that much (RLIMIT_AS): twice what it holds, as a vector grows,
            // so that a memory grown a page at a time is copied a logarithmic number of times.
            try {
                move_to_storage(data, std::max<uint64_t>(bytes, std::min<uint64_t>(most, 2 * data.capacity())), bytes);
            } catch (const std::bad_alloc&) {
                return false;  // memory.grow answers -1, as for a grow past the limits
            }
        }
    } else {
        zero_lazily(data.data() + old_bytes, bytes - old_bytes);
    }
    set_size_unwritten(data, bytes);
    internals::pages(memory) = new_pages;
    return true;
#else
    return wabt::Succeeded(memory.Grow(delta));
#endif
}

}  // namespace microvm::wasm
