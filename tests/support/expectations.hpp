// What this machine is expected to support, as CI declares it: scripts/test.sh sets
// MICROVM_TEST_EXPECT to a comma-separated list (root, cgroups, process, gvisor, guest-runner,
// wasm-rtfs, python3, qemu). A test that cannot run because something is missing skips on a
// developer's machine and fails where it was expected, so CI never passes by skipping what the
// machine supports.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <string_view>

namespace testsupport {

inline bool expected(std::string_view capability) {
    const char* list = std::getenv("MICROVM_TEST_EXPECT");
    if (!list) return false;
    std::string_view rest = list;
    while (!rest.empty()) {
        size_t comma = rest.find(',');
        if (rest.substr(0, comma) == capability) return true;
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    return false;
}

}  // namespace testsupport

// In a test or fixture function: continue when available; otherwise skip, or fail when CI
// declared the capability.
#define MICROVM_REQUIRE(capability, available, why)                                         \
    do {                                                                                     \
        if (!(available)) {                                                                  \
            if (::testsupport::expected(capability)) {                                       \
                FAIL() << (capability) << " is expected here (MICROVM_TEST_EXPECT) but missing: " \
                       << why;                                                               \
            }                                                                                \
            GTEST_SKIP() << (capability) << " missing: " << why;                             \
        }                                                                                    \
    } while (0)
