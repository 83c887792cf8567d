// The heap of a one-shot process that runs a program in its own address space (the wasm
// provider through the CLI) on transparent huge pages. The wasm engine's few large blocks (the
// stored module read in, its decoded instruction stream, the instance's copy of it: ~2 MiB each)
// would otherwise be faulted in 4 KiB at a time, and under a hypervisor's shadow paging each such
// fault is dear: measured on this VM, first touch of 2 MiB 6-7 ms in 4 KiB pages, 0.1-0.4 ms as
// one huge page; `microvm eval -p wasm '(+ 1 2)'` 46.8 ms -> 25.7 ms (docs/benchmarks.md).
//
// For a process that lives as long as one run: freed memory is kept for the next block instead
// of being returned, and a touched huge page is resident whole, so up to the advised size more
// than 4 KiB pages would take. The other providers allocate no such blocks in the CLI, and clone
// from it (which then copies the page tables of that memory). A no-op under AddressSanitizer,
// whose allocator is not glibc's.
#pragma once

#include <cstddef>

namespace microvm::host {

// Advises `bytes` (4 MiB to kMostAdvised) of the heap's free top for huge pages, from a huge page
// boundary on, and keeps the top from being trimmed: the blocks carved from the top afterwards
// (any that fits, and that no free chunk of the heap fits first) lie on huge pages where the
// kernel offers them (transparent huge pages "always" or "madvise"; the advice is accepted
// either way). Returns whether madvise accepted it; the allocator's thresholds (trim, and
// kLargestHeapBlock for mmap) stay as set whatever it returns.
bool place_heap_on_huge_pages(std::size_t bytes);

// The block placed goes 4 MiB past it, under glibc's highest mmap threshold (32 MiB).
inline constexpr std::size_t kMostAdvised = std::size_t{24} << 20;

// A block that no longer fits in the heap's top is mapped on its own from this size on (glibc's
// threshold, dynamic from 128 KiB by default, is fixed once set): a large wasm linear memory then
// keeps its untouched pages unbacked, as before.
inline constexpr std::size_t kLargestHeapBlock = std::size_t{4} << 20;

}  // namespace microvm::host
