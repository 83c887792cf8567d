// Running modules: output, exit codes, traps, arguments, environment and output caps.
#include <chrono>
#include <cstdlib>

#include "test_support.hpp"

namespace wasmtest {
namespace {

using microvm::Status;

TEST_F(WasmTest, HelloWorldPrintsThroughFdWrite) {
    auto r = run(context(fixture("hello.wat")));
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data, "hello, wasm\n");
    EXPECT_EQ(r.metadata.stderr_data, "");
    EXPECT_EQ(r.metadata.exit_code, 0);
    EXPECT_FALSE(r.value.has_value());
    EXPECT_EQ(r.metadata.provider, "wasm");
    EXPECT_EQ(r.metadata.isolation, microvm::Isolation::Wasm);
}

TEST_F(WasmTest, BinaryModulesRunLikeText) {
    auto r = run(context(binary_fixture("hello.wat")));
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data, "hello, wasm\n");
}

TEST_F(WasmTest, ProcExitCodePassesThrough) {
    auto r = run(context(fixture("exit7.wat")));
    EXPECT_EQ(r.status, Status::RuntimeError) << describe(r);
    EXPECT_EQ(r.metadata.exit_code, 7);
    EXPECT_EQ(r.metadata.stderr_data, "failing\n");
    ASSERT_TRUE(r.error);
    EXPECT_NE(r.error->message.find("code 7"), std::string::npos);
}

TEST_F(WasmTest, MetadataIsMeasured) {
    auto ctx = context(fixture("hello.wat"));
    auto r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_GT(r.metadata.duration.count(), 0);
    ASSERT_TRUE(r.metadata.cpu_time);
    EXPECT_GT(r.metadata.cpu_time->count(), 0);
    ASSERT_TRUE(r.metadata.memory_peak_mb);
    EXPECT_DOUBLE_EQ(*r.metadata.memory_peak_mb, 64.0 / 1024.0);  // one 64 KiB page
}

TEST_F(WasmTest, TrapsAreRuntimeErrorsWithTheTrapMessage) {
    struct Case {
        const char* fixture;
        const char* message;
    };
    for (Case c : {Case{"trap_unreachable.wat", "unreachable"},
                   Case{"trap_out_of_bounds.wat", "out of bounds"},
                   Case{"recursion.wat", "call stack exhausted"},
                   Case{"recursion_locals.wat", "value stack exhausted"}}) {
        auto r = run(context(fixture(c.fixture)));
        EXPECT_EQ(r.status, Status::RuntimeError) << c.fixture << ": " << describe(r);
        ASSERT_TRUE(r.error) << c.fixture;
        EXPECT_EQ(r.error->kind, "trap");
        EXPECT_NE(r.error->message.find(c.message), std::string::npos) << r.error->message;
        EXPECT_FALSE(r.metadata.exit_code.has_value());
    }
}

TEST_F(WasmTest, UnimplementedWasiFunctionsReturnEnosys) {
    auto r = run(context(fixture("enosys.wat")));
    EXPECT_EQ(r.metadata.exit_code, 52) << describe(r);  // WASI ENOSYS
}

TEST_F(WasmTest, ClocksAndRandomnessAreReal) {
    auto r = run(context(fixture("clock_random.wat")));
    EXPECT_EQ(r.status, Status::Ok) << describe(r);
}

TEST_F(WasmTest, PollOneoffSleepsOnAClock) {
    const auto starts = *empty_run().cpu_time;
    (void)run(context(fixture("sleep.wat"), {"0"}));  // cached: the run below starts one program
    auto r = run(context(fixture("sleep.wat"), {"400"}));
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_GE(r.metadata.duration, std::chrono::milliseconds(400));
    // Slept, did not spin: the CPU time (the compiler's and the engine's processes, counted by
    // the kernel) beyond an empty module's is well under the sleep.
    EXPECT_LT(*r.metadata.cpu_time - starts, std::chrono::milliseconds(200)) << "an empty module's: " << starts.count();
}

TEST_F(WasmTest, StdinIsEmptyForModules) {
    auto r = run(context(fixture("guest_protocol.wat")));
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data, "running\n");
    EXPECT_EQ(r.metadata.stderr_data, "99");  // no result sink, no preopens
}

TEST_F(WasmTest, ArgsArePlainStringsAfterTheModuleName) {
    auto r = run(context(fixture("args.wat"), {"one", "two words", "(rtfs value)"}));
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data, "module.wasm\none\ntwo words\n(rtfs value)\n");
}

TEST_F(WasmTest, EnvironmentHasOnlyTheConfiguredVariables) {
    setenv("MICROVM_WASM_HOST_SECRET", "leaked", 1);
    auto ctx = context(fixture("env.wat"));
    ctx.config.env_vars = {{"GREETING", "hello"}, {"LANG", "C.UTF-8"}};
    auto r = run(ctx);
    unsetenv("MICROVM_WASM_HOST_SECRET");
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data, "GREETING=hello\nLANG=C.UTF-8\n");
}

TEST_F(WasmTest, EmptyEnvironmentByDefault) {
    auto r = run(context(fixture("env.wat")));
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data, "");
}

TEST_F(WasmTest, OutputBeyondTheCapIsCutAndFlagged) {
    auto ctx = context(fixture("spam.wat"));
    ctx.config.max_output_bytes = 100000;
    auto r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data.size(), 100000u);
    EXPECT_EQ(r.metadata.stdout_data.find_first_not_of('x'), std::string::npos);
    EXPECT_TRUE(r.metadata.stdout_truncated);
    EXPECT_EQ(r.metadata.stderr_data.size(), 100000u);
    EXPECT_TRUE(r.metadata.stderr_truncated);
}

TEST_F(WasmTest, OutputUnderTheCapIsNotFlagged) {
    auto ctx = context(fixture("spam.wat"));
    ctx.config.max_output_bytes = 4u << 20;
    auto r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data.size(), 40u * 65536);
    EXPECT_FALSE(r.metadata.stdout_truncated);
    EXPECT_EQ(r.metadata.stderr_data.size(), 20u * 65536);
    EXPECT_FALSE(r.metadata.stderr_truncated);
}

}  // namespace
}  // namespace wasmtest
