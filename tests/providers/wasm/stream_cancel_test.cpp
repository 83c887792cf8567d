// Streaming and cancellation in the engine: output chunks reach the caller as the module writes
// them, and a cancelled run ends promptly as killed (cancelled), in a busy loop or asleep.
#include <atomic>
#include <chrono>
#include <thread>

#include "host_probes.hpp"
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
    // Runs ctx under `timeout`, cancels it after `after`, checks it ended cancelled within
    // `bound` of that.
    void cancel_midway(microvm::ExecutionContext ctx, std::chrono::milliseconds bound = 100ms,
                       std::chrono::milliseconds timeout = 30s, std::chrono::milliseconds after = 200ms) {
        ctx.config.timeout = timeout;
        auto [r, ended_after] = run_cancelled_after(std::move(ctx), after);
        EXPECT_LT(ended_after, bound);
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

// A fetch from a server that accepts and never answers ends with the run's cancellation, not at
// the run's timeout (red team, 2026-12-06: 28 s after the cancel).
TEST_F(WasmCancel, AFetchFromAServerThatNeverAnswersEndsCancelled) {
    enforcement::LoopbackListener listener;  // the kernel completes the handshake; nobody answers
    ASSERT_NE(listener.port(), 0);
    const std::string url = "http://127.0.0.1:" + std::to_string(listener.port()) + "/x";
    auto ctx = context(fixture("http_fetch.wat"), {R"({"url": ")" + url + R"("})"});
    ctx.config.network_policy = microvm::NetworkPolicy::allow({"127.0.0.1"});
    // libcurl looks at the flag about once a second while it waits (ended 0.9 s after the cancel
    // here): well before the 10 s timeout, with room for a loaded host.
    cancel_midway(std::move(ctx), 3s, 10s, 300ms);
}

}  // namespace
}  // namespace wasmtest
