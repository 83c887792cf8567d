// The heap of a one-shot in-process run on transparent huge pages (host/huge_page_heap.hpp):
// blocks allocated afterwards lie in the heap under the huge page advice, the first on a huge
// page boundary; a block larger than the advised top is still mapped on its own. Each case runs
// in a process of its own, started afresh (a fork would inherit this one's heap, whose free
// chunks and thresholds depend on the tests that ran before; review, 2026-12-06).
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "host/huge_page_heap.hpp"

namespace {

using microvm::host::place_heap_on_huge_pages;

bool huge_pages_offered() {
    std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
    std::string line;
    std::getline(in, line);
    return !line.empty() && line.find("[never]") == std::string::npos;
}

// The smaps entry of the mapping that holds p: its name and whether it may take huge pages.
struct Mapping {
    std::string name;
    bool thp_eligible = false;
};

Mapping mapping_of(const void* p) {
    const auto at = reinterpret_cast<std::uintptr_t>(p);
    std::ifstream smaps("/proc/self/smaps");
    std::string line;
    bool inside = false;
    Mapping m;
    while (std::getline(smaps, line)) {
        std::uintptr_t lo = 0, hi = 0;
        char dash = 0;
        std::istringstream head(line);
        if (head >> std::hex >> lo >> dash >> hi && dash == '-') {
            if (inside) break;
            inside = at >= lo && at < hi;
            if (inside) {
                const auto name_at = line.find_first_of("/[");
                m.name = name_at == std::string::npos ? "" : line.substr(name_at);
            }
            continue;
        }
        if (inside && line.rfind("THPeligible:", 0) == 0) m.thp_eligible = line.find('1') != std::string::npos;
    }
    return m;
}

char* touched_block(std::size_t bytes) {
    auto* block = static_cast<char*>(std::malloc(bytes));
    std::memset(block, 1, bytes);
    return block;
}

// The exit status of this binary run afresh for one of the cases below.
int run_case(const std::string& name) {
    const std::string cmd = "/proc/" + std::to_string(::getpid()) +
                            "/exe --gtest_also_run_disabled_tests --gtest_filter=HugePageHeapCase.DISABLED_" + name +
                            " > /dev/null 2>&1";
    const int status = std::system(cmd.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Run by the tests below, each in a fresh process.
TEST(HugePageHeapCase, DISABLED_Placed) {
    ASSERT_TRUE(place_heap_on_huge_pages(16u << 20));
    // Two blocks the size of the wasm engine's (a decoded module, its copy).
    char* first = touched_block(2u << 20);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(first) % (2u << 20), 0u) << "the first block is off the boundary";
    char* second = touched_block(2u << 20);
    for (char* block : {first, second}) {
        for (const char* at : {block + 4096, block + (2u << 20) - 1}) {
            const Mapping m = mapping_of(at);
            EXPECT_EQ(m.name, "[heap]");
            EXPECT_TRUE(m.thp_eligible);
        }
    }
}

TEST(HugePageHeapCase, DISABLED_NotPlaced) {
    // Without the placement the same block is a mapping of its own, in 4 KiB pages.
    const Mapping m = mapping_of(touched_block(2u << 20) + (1u << 20));
    EXPECT_NE(m.name, "[heap]");
    EXPECT_FALSE(m.thp_eligible);
}

TEST(HugePageHeapCase, DISABLED_LargerThanTheTop) {
    // A large wasm linear memory keeps its untouched pages unbacked.
    ASSERT_TRUE(place_heap_on_huge_pages(16u << 20));
    auto* block = static_cast<char*>(std::malloc(32u << 20));
    block[0] = 1;
    const Mapping m = mapping_of(block);
    EXPECT_NE(m.name, "[heap]");
    EXPECT_FALSE(m.thp_eligible);
}

TEST(HugePageHeap, BlocksAllocatedAfterwardsLieInTheAdvisedHeapFromABoundaryOn) {
    if (!place_heap_on_huge_pages(16u << 20)) {
        // Not glibc's allocator (AddressSanitizer): nothing to place, and so nothing placed.
        GTEST_SKIP() << "the allocator is not glibc's";
    }
    if (!huge_pages_offered()) GTEST_SKIP() << "transparent huge pages are off on this machine";
    EXPECT_EQ(run_case("Placed"), 0);
    EXPECT_EQ(run_case("NotPlaced"), 0);
}

TEST(HugePageHeap, ABlockLargerThanTheAdvisedTopIsMappedOnItsOwn) {
    if (!place_heap_on_huge_pages(16u << 20)) GTEST_SKIP() << "the allocator is not glibc's";
    if (!huge_pages_offered()) GTEST_SKIP() << "transparent huge pages are off on this machine";
    EXPECT_EQ(run_case("LargerThanTheTop"), 0);
}

TEST(HugePageHeap, SizesOutsideItsRangeAreNotPlaced) {
    EXPECT_FALSE(place_heap_on_huge_pages(1u << 20));
    EXPECT_FALSE(place_heap_on_huge_pages(microvm::host::kMostAdvised + 1));
}

}  // namespace
