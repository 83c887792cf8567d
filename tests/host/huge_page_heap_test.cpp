// The heap of a one-shot in-process run on transparent huge pages (host/huge_page_heap.hpp):
// blocks allocated afterwards lie in the heap under the huge page advice; a block larger than
// the advised top is still mapped on its own. Each case runs in a child of its own: the
// allocator's settings are the whole process's.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
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
                const auto name_at = line.find_first_of('/') != std::string::npos ? line.find_first_of('/')
                                                                                  : line.find('[');
                m.name = name_at == std::string::npos ? "" : line.substr(name_at);
            }
            continue;
        }
        if (inside && line.rfind("THPeligible:", 0) == 0) m.thp_eligible = line.find('1') != std::string::npos;
    }
    return m;
}

// Runs check in a child; its exit code is the number of the first failed expectation.
int in_child(const std::function<int()>& check) {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(check());
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

TEST(HugePageHeap, BlocksAllocatedAfterwardsLieInTheAdvisedHeap) {
#if defined(__SANITIZE_ADDRESS__)
    EXPECT_FALSE(place_heap_on_huge_pages(16u << 20));  // not glibc's allocator: nothing to place
#else
    if (!huge_pages_offered()) GTEST_SKIP() << "transparent huge pages are off on this machine";
    EXPECT_EQ(in_child([] {
                  if (!place_heap_on_huge_pages(16u << 20)) return 1;
                  // Two blocks the size of the wasm engine's (a decoded module, its copy).
                  for (int i = 0; i < 2; ++i) {
                      auto* block = static_cast<char*>(std::malloc(2u << 20));
                      std::memset(block, 1, 2u << 20);
                      // All but the allocator's header before it: the blocks start at a huge
                      // page (the unaligned head of the advised range is held).
                      for (const char* at : {block + 4096, block + (2u << 20) - 1}) {
                          const Mapping m = mapping_of(at);
                          if (m.name != "[heap]") return 2;
                          if (!m.thp_eligible) return 3;
                      }
                  }
                  return 0;
              }),
              0);
    // Without the placement the same block is a mapping of its own, in 4 KiB pages.
    EXPECT_EQ(in_child([] {
                  auto* block = static_cast<char*>(std::malloc(2u << 20));
                  std::memset(block, 1, 2u << 20);
                  const Mapping m = mapping_of(block + (1u << 20));
                  return m.name != "[heap]" && !m.thp_eligible ? 0 : 1;
              }),
              0);
#endif
}

TEST(HugePageHeap, ABlockLargerThanTheAdvisedTopIsMappedOnItsOwn) {
#if defined(__SANITIZE_ADDRESS__)
    GTEST_SKIP() << "AddressSanitizer's allocator is not glibc's";
#else
    if (!huge_pages_offered()) GTEST_SKIP() << "transparent huge pages are off on this machine";
    // A large wasm linear memory keeps its untouched pages unbacked.
    EXPECT_EQ(in_child([] {
                  if (!place_heap_on_huge_pages(16u << 20)) return 1;
                  auto* block = static_cast<char*>(std::malloc(32u << 20));
                  block[0] = 1;
                  const Mapping m = mapping_of(block);
                  return m.name != "[heap]" && !m.thp_eligible ? 0 : 2;
              }),
              0);
#endif
}

TEST(HugePageHeap, SizesOutsideItsRangeAreNotPlaced) {
    EXPECT_EQ(in_child([] { return place_heap_on_huge_pages(1u << 20) ? 1 : 0; }), 0);
    EXPECT_EQ(in_child([] { return place_heap_on_huge_pages(microvm::host::kMostAdvised + 1) ? 1 : 0; }), 0);
}

}  // namespace
