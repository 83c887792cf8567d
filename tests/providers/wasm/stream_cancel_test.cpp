// Streaming and cancellation in the engine: output chunks reach the caller as the module writes
// them, and a cancelled run ends promptly as killed (cancelled), in a busy loop or asleep.
#include <atomic>
#include <chrono>
#include <thread>

#include "test_support.hpp"

namespace wasmtest {
namespace {

using namespace std::chrono_literals;
using microvm::Reason;
using microvm::Status;

TEST_F(WasmTest, OutputIsStreamedAsTheModuleWritesIt) {
    auto ctx = context(fixture("hello.wat"));
    std::string streamed;
    ctx.on_output = [&](microvm::OutputStream stream, std::string_view chunk) {
        if (stream == microvm::OutputStream::Stdout) streamed += chunk;
    };
    auto r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_FALSE(streamed.empty());
    EXPECT_EQ(streamed, r.metadata.stdout_data);
}

class WasmCancel : public WasmTest {
  protected:
    // Runs ctx, cancels it after 200 ms, checks it ended cancelled within 100 ms of that.
    void cancel_midway(microvm::ExecutionContext ctx) {
        ctx.config.timeout = 30s;
        auto [r, ended_after] = run_cancelled_after(std::move(ctx), 200ms);
        EXPECT_LT(ended_after, 100ms);
        EXPECT_EQ(r.status, Status::Killed) << describe(r);
        ASSERT_TRUE(r.error);
        EXPECT_EQ(r.error->reason, Reason::Cancelled);
    }
};

TEST_F(WasmCancel, ABusyLoopEndsCancelled) {
    cancel_midway(context(fixture("infinite_loop.wat")));
}

TEST_F(WasmCancel, ASleepEndsCancelled) {
    cancel_midway(context(fixture("sleep.wat"), {"20000"}));
}

}  // namespace
}  // namespace wasmtest
