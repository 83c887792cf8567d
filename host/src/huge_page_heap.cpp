#include "host/huge_page_heap.hpp"

#include <malloc.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>

namespace microvm::host {
namespace {

// See below; never freed. volatile: a store no one reads would be dropped with its malloc.
void* volatile held_head = nullptr;

}  // namespace

bool place_heap_on_huge_pages(std::size_t bytes) {
#if defined(__SANITIZE_ADDRESS__)
    (void)bytes;
    return false;
#else
    constexpr std::uintptr_t kHugePage = std::uintptr_t{2} << 20;
    if (bytes < 2 * kHugePage || bytes > kMostAdvised) return false;
    // One block from the heap (the mmap threshold above it for this one call), advised from its
    // first huge page boundary on, and freed: it joins the heap's top, which is not trimmed
    // while under twice its size.
    if (mallopt(M_TRIM_THRESHOLD, static_cast<int>(2 * (bytes + kHugePage))) != 1 ||
        mallopt(M_MMAP_THRESHOLD, static_cast<int>(bytes + 2 * kHugePage)) != 1) {
        return false;
    }
    void* block = std::malloc(bytes + kHugePage);
    mallopt(M_MMAP_THRESHOLD, static_cast<int>(kLargestHeapBlock));
    if (!block) return false;
    const auto at = reinterpret_cast<std::uintptr_t>(block);
    const auto first = (at + kHugePage - 1) & ~(kHugePage - 1);
    const bool advised = ::madvise(reinterpret_cast<void*>(first), bytes, MADV_HUGEPAGE) == 0;
    std::free(block);
    // The head before the first boundary is held for good, untouched (no memory but a page):
    // the next blocks are carved from the top after it, on huge pages.
    constexpr std::uintptr_t kChunkHeader = 2 * sizeof(std::size_t);
    if (advised && first - at > 2 * kChunkHeader) held_head = std::malloc(first - at - 2 * kChunkHeader);
    return advised;
#endif
}

}  // namespace microvm::host
