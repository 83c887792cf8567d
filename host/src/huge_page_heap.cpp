#include "host/huge_page_heap.hpp"

#include <malloc.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>

// AddressSanitizer replaces the allocator: GCC says so with __SANITIZE_ADDRESS__, clang with
// __has_feature.
#if defined(__SANITIZE_ADDRESS__)
#define MICROVM_OWN_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MICROVM_OWN_ALLOCATOR 1
#endif
#endif

namespace microvm::host {
namespace {

// See below; never freed. volatile: a store no one reads would be dropped with its malloc.
void* volatile held_head = nullptr;

}  // namespace

bool place_heap_on_huge_pages(std::size_t bytes) {
#if defined(MICROVM_OWN_ALLOCATOR)
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
    // The head before the first boundary is held for good, untouched (no memory but a page), so
    // that the next block carved from the top starts at the boundary: glibc's chunk of a
    // request of n bytes takes n + sizeof(size_t) rounded up to 16, and the block's chunk began
    // 16 bytes before it, as the next one begins 16 bytes before its data.
    const std::uintptr_t head = first - at;
    if (advised && head >= 4 * sizeof(std::size_t)) held_head = std::malloc(head - sizeof(std::size_t));
    return advised;
#endif
}

}  // namespace microvm::host
