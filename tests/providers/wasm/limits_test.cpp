// Limits enforced by the engine: linear memory cap, timeout (also in the start function) and
// cpu_limit. Timing bounds are deliberately generous.
#include <chrono>

#include "test_support.hpp"

namespace wasmtest {
namespace {

using microvm::Status;
using namespace std::chrono_literals;

TEST_F(WasmTest, MemoryGrowthStopsAtTheCapAndTheTrapIsMemoryExceeded) {
    auto ctx = context(fixture("grow.wat"));
    ctx.config.memory_limit_mb = 16;
    auto r = run(ctx);
    EXPECT_EQ(r.status, Status::MemoryExceeded) << describe(r);
    ASSERT_TRUE(r.error);
    EXPECT_NE(r.error->message.find("memory_limit_mb 16"), std::string::npos) << r.error->message;
    EXPECT_NE(r.error->message.find("unreachable"), std::string::npos) << r.error->message;
    ASSERT_TRUE(r.metadata.memory_peak_mb);
    EXPECT_DOUBLE_EQ(*r.metadata.memory_peak_mb, 16.0);
}

TEST_F(WasmTest, HandledRefusalOfGrowthIsOk) {
    auto ctx = context(fixture("grow.wat"), {"graceful"});
    ctx.config.memory_limit_mb = 8;
    auto r = run(ctx);
    EXPECT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_DOUBLE_EQ(*r.metadata.memory_peak_mb, 8.0);
}

TEST_F(WasmTest, InitialMemoryAboveTheCapIsRefused) {
    auto ctx = context(fixture("big_initial_memory.wat"));
    ctx.config.memory_limit_mb = 64;
    auto r = run(ctx);
    EXPECT_EQ(r.status, Status::MemoryExceeded) << describe(r);
    ASSERT_TRUE(r.error);
    EXPECT_NE(r.error->message.find("initial linear memory of 125 MiB"), std::string::npos)
        << r.error->message;
    ctx.config.memory_limit_mb = 200;
    EXPECT_EQ(run(ctx).status, Status::Ok);
}

TEST_F(WasmTest, InfiniteLoopTimesOutNearTheTimeout) {
    auto ctx = context(fixture("infinite_loop.wat"));
    ctx.config.timeout = 300ms;
    auto r = run(ctx);
    EXPECT_EQ(r.status, Status::Timeout) << describe(r);
    EXPECT_GE(r.metadata.duration, 300ms);
    EXPECT_LT(r.metadata.duration, 5s);
}

// Every figure of a timed-out run is measured, none echoed from the config: the module holds
// 48 MiB more of linear memory, sleeps 300 ms, then spins until the deadline. An echoed timeout
// is exactly 1500 ms (the engine stops after the deadline); CPU time echoed from the duration
// includes the sleep, and a missing one (0) is below the spin; an echoed peak is the 512 MiB
// limit.
TEST_F(WasmTest, MeasurementsAtATimeoutComeFromTheEngine) {
    constexpr auto timeout = 1500ms;
    auto ctx = context(fixture("hold_sleep_spin.wat"));
    ctx.config.timeout = timeout;
    ctx.config.memory_limit_mb = 512;
    auto r = run(ctx);
    ASSERT_EQ(r.status, Status::Timeout) << describe(r);
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

TEST_F(WasmTest, StartFunctionRunsUnderTheDeadlineToo) {
    auto ctx = context(fixture("start_section_loop.wat"));
    ctx.config.timeout = 300ms;
    auto r = run(ctx);
    EXPECT_EQ(r.status, Status::Timeout) << describe(r);
    EXPECT_LT(r.metadata.duration, 5s);
}

TEST_F(WasmTest, SleepsEndAtTheDeadline) {
    auto ctx = context(fixture("sleep.wat"), {"60000"});
    ctx.config.timeout = 300ms;
    auto r = run(ctx);
    EXPECT_EQ(r.status, Status::Timeout) << describe(r);
    EXPECT_LT(r.metadata.duration, 5s);
}

TEST_F(WasmTest, CpuLimitThrottlesTheModule) {
    // Find a loop length that costs a measurable amount of CPU at full speed.
    uint64_t iterations = 200000;
    std::chrono::nanoseconds cpu{0};
    for (int i = 0; i < 12 && cpu < 60ms; ++i, iterations *= 2) {
        auto r = run(context(fixture("busy.wat"), {std::to_string(iterations)}));
        ASSERT_EQ(r.status, Status::Ok) << describe(r);
        cpu = *r.metadata.cpu_time;
    }
    auto ctx = context(fixture("busy.wat"), {std::to_string(iterations / 2)});
    ctx.config.cpu_limit = 0.05;
    auto r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    ASSERT_TRUE(r.metadata.cpu_time);
    // A twentieth of a core: the wall time is about twenty times the CPU time. Unthrottled it is
    // about twice at a load of 6 on 2 cores (so the old bound, 2.5 times at a quarter of a core,
    // nearly passed without the throttle); 8 times fails open only above a load of about 15.
    EXPECT_GE(r.metadata.duration.count(), 8 * r.metadata.cpu_time->count())
        << "cpu " << r.metadata.cpu_time->count() << "ns, wall " << r.metadata.duration.count();
}

}  // namespace
}  // namespace wasmtest
