// `microvm wasm` and `microvm eval -p wasm`, driven as a user would (spec section 4): modules
// print through WASI, exit codes pass through, limits map to the documented exit statuses, and
// RTFS runs inside the engine.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "microvm/json_output.hpp"
#include "microvm/wasm_module_limit.hpp"

#include "support/run_command.hpp"
#include "support/expectations.hpp"
#include "support/host_files.hpp"

namespace {

using testsupport::CommandResult;

CommandResult microvm(std::vector<std::string> args) {
    args.insert(args.begin(), MICROVM_BINARY);
    return testsupport::run_command(args, "");
}

std::string fixture(const std::string& name) { return std::string(WASM_FIXTURES_DIR) + "/" + name; }

TEST(MicrovmWasmCli, HelloModulePrintsThroughFdWrite) {
    auto r = microvm({"wasm", fixture("hello.wat")});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "hello, wasm\n");
}

TEST(MicrovmWasmCli, ExitCodePassesThroughProcExit) {
    auto r = microvm({"wasm", fixture("exit7.wat")});
    EXPECT_EQ(r.status, 7) << r.err;
}

// A code outside a byte is a failure's 1: proc_exit(256) left the shell 0 for a failed run, and
// proc_exit(380) a timeout's 124 (red team, 2026-12-06). --json keeps the module's own code.
TEST(MicrovmWasmCli, AnExitCodeOutsideAByteIsAFailure) {
    auto r = microvm({"wasm", fixture("exit256.wat")});
    EXPECT_EQ(r.status, 1) << r.err;
    r = microvm({"wasm", "--json", fixture("exit256.wat")});
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["exit_code"], 256) << r.out;
}

TEST(MicrovmWasmCli, JsonReportsTheRun) {
    auto r = microvm({"wasm", "--json", fixture("hello.wat")});
    ASSERT_EQ(r.status, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["provider"], "wasm");
    EXPECT_EQ(j["status"], "ok");
    EXPECT_EQ(j["stdout"], "hello, wasm\n");
    EXPECT_EQ(j["metadata"]["isolation"], "wasm");
    EXPECT_GT(j["metadata"]["duration_ms"].get<double>(), 0.0);
}

// The CLI's heap is on huge pages for an in-process run (host/huge_page_heap.hpp): a module whose
// memory is carved from it runs as it did, its data in place and zeros elsewhere. (That such a
// memory is zeroed where the heap held something else is shown with a dirtied heap by
// UnfilledMemory.ModuleSeesItsMemoryZeroedOnAHeapOfHugePages; a fresh CLI's heap is clean.)
TEST(MicrovmWasmCli, AModulesMemoryReadsZeroWhereItWroteNothing) {
    auto r = microvm({"wasm", fixture("zeroed_memory.wat")});
    EXPECT_EQ(r.status, 0) << r.err;
}

TEST(MicrovmWasmCli, LimitsMapToTheDocumentedStatuses) {
    EXPECT_EQ(microvm({"wasm", "--timeout", "300ms", fixture("infinite_loop.wat")}).status, 124);
    EXPECT_EQ(microvm({"wasm", "--memory", "1", fixture("big_initial_memory.wat")}).status, 137);
    auto r = microvm({"wasm", fixture("trap_unreachable.wat")});
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("unreachable"), std::string::npos) << r.err;
}

TEST(MicrovmWasmCli, MalformedModuleIsAClearError) {
    testsupport::TempFile bad("(module (func (export \"_start\") (i32.add)))");
    auto r = microvm({"wasm", bad.path()});
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("error: "), std::string::npos) << r.err;
}

// The module argument must be a regular file, read no further than the engine's limit: before,
// /dev/zero was read until memory ran out and a FIFO hung the command. `timeout` bounds each
// run, so a regression fails (124) instead of hanging the test.
CommandResult microvm_within_10s(std::vector<std::string> args) {
    args.insert(args.begin(), {"/usr/bin/timeout", "10", MICROVM_BINARY});
    return testsupport::run_command(args, "");
}

TEST(MicrovmWasmCli, ModuleThatIsNotARegularFileIsAUsageError) {
    auto r = microvm_within_10s({"wasm", "/dev/zero"});
    EXPECT_EQ(r.status, microvm::kExitUsage) << r.err;
    EXPECT_NE(r.err.find("'/dev/zero' is a character device, not a regular file"),
              std::string::npos)
        << r.err;

    const testsupport::HostDir dir("microvm-wasm-cli-fifo");
    const auto fifo = dir.path() / "module.wasm";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    r = microvm_within_10s({"wasm", fifo.string()});
    EXPECT_EQ(r.status, microvm::kExitUsage) << r.err;
    EXPECT_NE(r.err.find("not a regular file"), std::string::npos) << r.err;
}

TEST(MicrovmWasmCli, ModuleOverTheEngineLimitIsAUsageError) {
    std::string big(microvm::kMaxWasmModuleBytes + 1, '\0');
    big.replace(0, 8, std::string("\0asm\1\0\0\0", 8));
    testsupport::TempFile file(big);
    auto r = microvm_within_10s({"wasm", file.path()});
    EXPECT_EQ(r.status, microvm::kExitUsage) << r.err;
    EXPECT_NE(r.err.find("over " + std::to_string(microvm::kMaxWasmModuleBytes) + " bytes"),
              std::string::npos)
        << r.err;
}

class MicrovmWasmRtfsCli : public testing::Test {
  protected:
    void SetUp() override {
#ifndef MICROVM_RTFS_WASM_EXPECTED
        MICROVM_REQUIRE("wasm-rtfs", false, "rtfs-guest.wasm is not built (no clang-19/wasi-libc)");
#endif
    }
};

TEST_F(MicrovmWasmRtfsCli, EvalPrintsTheValue) {
    auto r = microvm({"eval", "-p", "wasm", "(+ 1 2)"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "3\n");
}

TEST_F(MicrovmWasmRtfsCli, RtfsErrorsExit1WithTheirVariant) {
    auto r = microvm({"eval", "-p", "wasm", "(/ 1 0)"});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("DivisionByZero"), std::string::npos) << r.err;
    r = microvm({"eval", "-p", "wasm", "(println 1)"});
    EXPECT_EQ(r.status, 126);
    EXPECT_NE(r.err.find("ccos.io.println"), std::string::npos) << r.err;
    r = microvm({"eval", "-p", "wasm", "--allow", "ccos.io.println", "(println \"hi\")"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "hi\nnil\n");
}

}  // namespace
