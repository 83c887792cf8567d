// The CPU share's sleep (src/cpu_pacing.hpp), white-box: what a run owes is slept in steps that
// end at once on cancellation and never pass the deadline. One sleep of all that was owed held a
// cancelled run for up to its timeout (red team, 2026-12-06: 26.7 s).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "cpu_pacing.hpp"

namespace {

using namespace std::chrono_literals;
using microvm::wasm::CpuPacing;
using microvm::wasm::thread_cpu_time;
using Clock = std::chrono::steady_clock;

// A run that used a second of CPU just now under a hundredth of a core: it owes about 100 s.
CpuPacing deep_in_debt() {
    CpuPacing pacing;
    pacing.start(0.01, Clock::now(), thread_cpu_time() - 1s);
    return pacing;
}

TEST(CpuPacing, TheSleepEndsOnCancellation) {
    const CpuPacing pacing = deep_in_debt();
    std::atomic<bool> cancel{false};
    std::thread canceller([&] {
        std::this_thread::sleep_for(50ms);
        cancel = true;
    });
    const auto t0 = Clock::now();
    pacing.pace(Clock::now() + 10s, &cancel);
    const auto slept = Clock::now() - t0;
    canceller.join();
    EXPECT_GE(slept, 45ms);  // it did sleep
    EXPECT_LT(slept, 1s) << "the sleep went on after the cancellation";
}

TEST(CpuPacing, TheSleepEndsAtTheDeadline) {
    const CpuPacing pacing = deep_in_debt();
    const auto t0 = Clock::now();
    pacing.pace(Clock::now() + 50ms, nullptr);
    const auto slept = Clock::now() - t0;
    EXPECT_GE(slept, 45ms);
    EXPECT_LT(slept, 1s);
}

TEST(CpuPacing, AWholeCoreOrAnUnstartedPacingNeverSleeps) {
    CpuPacing whole;
    whole.start(1.0, Clock::now(), thread_cpu_time() - 1s);
    const CpuPacing unstarted;
    const auto t0 = Clock::now();
    whole.pace(Clock::now() + 60s, nullptr);
    unstarted.pace(Clock::now() + 60s, nullptr);
    EXPECT_LT(Clock::now() - t0, 100ms);
}

}  // namespace
