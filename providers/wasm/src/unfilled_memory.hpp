// A linear memory whose zero pages are left to the kernel. wabt's Memory keeps its bytes in a
// std::vector that value-initialises them: a 10.5 MiB memory costs a 10.5 MiB memset and one page
// fault per 4 KiB page at every instantiation, although a run touches a few hundred KiB of it.
// Instead the engine instantiates with only the pages the data segments reach, then extends the
// memory to its declared size with pages the kernel gives as zero on first touch (madvise
// MADV_DONTNEED on the vector's storage; a plain zero-fill wherever that cannot be had).
// The memory's size, limits and contents are exactly what instantiation would have produced.
#pragma once

#include <cstdint>
#include <optional>

#include "wabt/interp/interp.h"

namespace microvm::wasm {

// The pages instantiation needs for memory 0 when every active data segment of it has a
// constant offset (all it can write reaches no further), or nullopt when that cannot be known
// from the description (an offset read from a global, a memory imported): then nothing may be
// deferred.
std::optional<uint64_t> data_segment_pages(wabt::interp::ModuleDesc& desc);

// Grows memory to pages (>= its size; its maximum is not consulted: the caller only restores the
// declared initial size) with zero pages that are faulted in only when touched.
void extend_with_unfilled_pages(wabt::interp::Memory& memory, uint64_t pages);

// memory.grow by delta pages as wabt's Memory::Grow judges it (its limits), with zero pages that
// are faulted in only when touched, and storage reserved up to the memory's maximum the first
// time it outgrows its own, so that no later grow copies. wabt's Grow zero-filled every new page
// and, past the vector's capacity, copied the memory to storage twice its size: one grow of
// 3 GiB took 1.6 s past a 100 ms timeout, and a full 1 GiB memory grown by one page held 2.1 GB
// of the host (red team, 2026-12-07). False when the limits refuse it (nothing changed).
bool grow_unfilled(wabt::interp::Memory& memory, uint64_t delta);

}  // namespace microvm::wasm
