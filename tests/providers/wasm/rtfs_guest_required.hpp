// The RTFS guest module (rtfs-guest.wasm) that the RTFS-on-wasm tests need: a failure when the
// build should have made it, a skip naming the missing toolchain otherwise.
#pragma once

#include <gtest/gtest.h>

#include "support/expectations.hpp"
#include "rtfs_guest.hpp"

#ifdef MICROVM_RTFS_WASM_EXPECTED
#define REQUIRE_RTFS_GUEST()                                                                  \
    do {                                                                                     \
        if (auto found = microvm::find_rtfs_guest_wasm(); !found) {                          \
            FAIL() << "rtfs-guest.wasm should have been built: " << found.error().message;   \
        }                                                                                    \
    } while (0)
#else
#define REQUIRE_RTFS_GUEST()                                                                  \
    do {                                                                                     \
        if (!microvm::find_rtfs_guest_wasm()) {                                              \
            MICROVM_REQUIRE("wasm-rtfs", false, "rtfs-guest.wasm is not built (no clang-19/wasi-libc)"); \
        }                                                                                    \
    } while (0)
#endif
