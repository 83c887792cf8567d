// The heap of a one-shot process that runs a program in its own address space (the wasm
// provider through the CLI) on transparent huge pages. The wasm engine's few large blocks (the
// stored module read in, its decoded instruction stream, the instance's copy of it: ~2 MiB each)
// would otherwise be faulted in 4 KiB at a time, and under a hypervisor's shadow paging each such
// fault is dear: measured on this VM, first touch of 2 MiB 6-7 ms in 4 KiB pages, 0.1-0.4 ms as
// one huge page; `microvm eval -p wasm '(+ 1 2)'` 41 ms -> 24 ms (docs/benchmarks.md).
//
// Not for a process that forks afterwards (a copy-on-write fault would copy 2 MiB) or lives long
// (freed memory is kept for the next block instead of being returned). The cost is memory: a
// touched huge page is resident whole, so up to the advised size more than 4 KiB pages would
// take. A no-op under AddressSanitizer, whose allocator is not glibc's.
#pragma once

#include <cstddef>

namespace microvm::host {

// Advises `bytes` (4 MiB to kMostAdvised) of the heap's free top for huge pages, where the kernel
// offers them (enabled "always" or "madvise"), and keeps the top from being trimmed: every block
// carved from it afterwards (any that fits) is on huge pages. Returns whether the advice was
// taken.
bool place_heap_on_huge_pages(std::size_t bytes);

// The block placed goes 4 MiB past it, under glibc's highest mmap threshold (32 MiB).
inline constexpr std::size_t kMostAdvised = std::size_t{24} << 20;

// A block that no longer fits in the heap's top is mapped on its own from this size on (glibc's
// threshold, dynamic from 128 KiB by default, is fixed once set): a large wasm linear memory then
// keeps its untouched pages unbacked, as before.
inline constexpr std::size_t kLargestHeapBlock = std::size_t{4} << 20;

}  // namespace microvm::host
