// What the qemu provider reports is measured in the guest (the run's cgroup) or on the host,
// never echoed from the config, on the paths where it is easiest to fake: a run the memory limit
// ended, and a run the timeout ended.
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "qemu_fixture.hpp"
#include "support/expectations.hpp"

namespace {

using namespace std::chrono_literals;
using microvm::ExecutionContext;
using microvm::ExecutionResult;
using microvm::Reason;
using microvm::Status;

class QemuMeasureTest : public qemutest::SharedProviderTest<QemuMeasureTest> {
  protected:
    static ExecutionContext sh(const std::string& script) {
        ExecutionContext ctx;
        ctx.program = microvm::ExternalProgram{"/bin/sh", {"-c", script}};
        ctx.config.timeout = 20s;
        return ctx;
    }
    static ExecutionResult run(const ExecutionContext& ctx) { return provider_->execute_program(ctx); }
    static std::string describe(const ExecutionResult& r) {
        return (r.error ? r.error->message : std::string("no error")) + " | " + r.metadata.stderr_data;
    }
};

// The run's guest cgroup (memory.max = the limit) is what ends it: its peak stays at the limit.
// The VM has the limit + 64 MiB of RAM, so without memory.max the guest-wide OOM killer would
// still end the shell, still as memory_exceeded (memory.events counts every OOM kill), but only
// after the string had grown past the limit: the peak pins the cgroup's limit.
TEST_F(QemuMeasureTest, MemoryExceededPeaksAtTheRunCgroupsLimit) {
    auto ctx = sh("a=xxxxxxxxxxxxxxxx; while :; do a=\"$a$a\"; done");
    ctx.config.memory_limit_mb = 48;
    auto r = run(ctx);
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->reason, Reason::MemoryExceeded) << describe(r);
    EXPECT_EQ(r.status, Status::MemoryExceeded) << describe(r);
    ASSERT_TRUE(r.metadata.memory_peak_mb.has_value());
    EXPECT_GE(*r.metadata.memory_peak_mb, 24.0);
    EXPECT_LE(*r.metadata.memory_peak_mb, 48.5);
}

// The run's cgroup is charged kernel memory too: a guest kernel without it (tinyconfig's SLOB
// rules MEMCG_KMEM out) let a program hold the guest's memory in unread pipes, kernel stacks and
// page tables while memory.max and memory.peak saw only its user pages. 60 writers blocked on
// full pipes (64 KiB each) beside 60 readers that never read: 120 processes whose kernel memory
// is several times their user memory.
TEST_F(QemuMeasureTest, KernelMemoryOfTheRunIsChargedToItsCgroup) {
    auto ctx = sh("i=0; while [ $i -lt 60 ]; do yes | sleep 30 >/dev/null 2>&1 & i=$((i+1)); done; sleep 2; echo held");
    ctx.config.memory_limit_mb = 256;
    ctx.config.max_processes = 256;
    auto r = run(ctx);
    ASSERT_FALSE(r.error.has_value()) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data, "held\n");
    ASSERT_TRUE(r.metadata.memory_peak_mb.has_value());
    // Measured: 17.1 MB with kernel memory charged, 6.0 MB with SLOB (user pages alone).
    EXPECT_GE(*r.metadata.memory_peak_mb, 10.0) << "the run's kernel memory was not charged to it";
}

// Every figure of a timed-out run is measured: the shell builds a 32 MiB string, sleeps 1 s,
// then spins until killed. An echoed timeout is exactly 6 s (the kill comes after the deadline);
// CPU time echoed from the duration, or the wall clock taken for it, includes the sleep, and a
// missing one is nullopt; an echoed peak is the 512 MiB limit.
TEST_F(QemuMeasureTest, MeasurementsAtATimeoutComeFromTheGuestKernel) {
    constexpr auto timeout = 6s;
    auto ctx = sh("a=xxxxxxxxxxxxxxxx; i=0; while [ $i -lt 21 ]; do a=\"$a$a\"; i=$((i+1)); done; "
                  "echo held ${#a}; sleep 1; while :; do :; done");
    ctx.config.timeout = timeout;
    ctx.config.memory_limit_mb = 512;
    auto r = run(ctx);
    ASSERT_TRUE(r.error.has_value()) << r.metadata.stdout_data;
    ASSERT_EQ(r.error->reason, Reason::Timeout) << describe(r);
    EXPECT_NE(r.metadata.stdout_data.find("held 33554432"), std::string::npos)
        << r.metadata.stdout_data << describe(r);
    EXPECT_GT(r.metadata.duration, timeout) << describe(r);
    // The timeout counts from the VM's readiness, so the reported duration runs past it by more
    // than a kill (8.8 s for this 6 s timeout at load 9): a generous bound, still far below a hang.
    EXPECT_LT(r.metadata.duration, timeout + 15s) << describe(r);
    ASSERT_TRUE(r.metadata.cpu_time.has_value()) << describe(r);
    EXPECT_GT(*r.metadata.cpu_time, timeout / 4) << describe(r);  // the string and the spin
    EXPECT_LT(*r.metadata.cpu_time, r.metadata.duration - 500ms) << describe(r);  // the sleep
    ASSERT_TRUE(r.metadata.memory_peak_mb.has_value()) << describe(r);
    EXPECT_GE(*r.metadata.memory_peak_mb, 32.0) << describe(r);
    EXPECT_LT(*r.metadata.memory_peak_mb, 400.0) << describe(r);
}

}  // namespace
