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
        microvm::CancelSource cancel;
        ctx.cancel = cancel.token();
        ctx.config.timeout = 30s;
        microvm::ExecutionResult r;
        std::thread runner([&] { r = run(ctx); });
        std::this_thread::sleep_for(200ms);
        const auto cancelled_at = std::chrono::steady_clock::now();
        cancel.cancel();
        runner.join();
        EXPECT_LT(std::chrono::steady_clock::now() - cancelled_at, 100ms);
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
