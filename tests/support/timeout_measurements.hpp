// What a timeout test asserts of a run's measurements, the same for every provider whose
// program holds 48 MiB, sleeps 300 ms, then spins until the deadline ends it: each figure is
// measured, none echoed from the config. An echoed timeout is exactly the timeout (the end comes
// after the deadline, so a measured duration is longer); CPU time echoed from the duration, or
// the wall clock taken for it, includes the sleep; an echoed peak is the 512 MiB limit.
#pragma once

#include <chrono>

#include <gtest/gtest.h>

#include "microvm/result.hpp"
#include "support/result_text.hpp"

namespace testsupport {

inline void expect_measured_at_timeout(const microvm::ExecutionResult& r, std::chrono::milliseconds timeout) {
    using namespace std::chrono_literals;
    ASSERT_EQ(r.status, microvm::Status::Timeout) << describe(r);
    EXPECT_GT(r.metadata.duration, timeout) << describe(r);
    EXPECT_LT(r.metadata.duration, timeout + 2s) << describe(r);
    ASSERT_TRUE(r.metadata.cpu_time) << describe(r);
    // A tenth: the spin had up to 1.2 s, much less on a loaded machine (280 ms at load 12).
    EXPECT_GT(*r.metadata.cpu_time, timeout / 10) << describe(r);
    EXPECT_LT(*r.metadata.cpu_time, r.metadata.duration - 200ms) << describe(r);  // the sleep
    ASSERT_TRUE(r.metadata.memory_peak_mb) << describe(r);
    EXPECT_GE(*r.metadata.memory_peak_mb, 48.0) << describe(r);
    EXPECT_LT(*r.metadata.memory_peak_mb, 100.0) << describe(r);
}

}  // namespace testsupport
