// Shared helpers of the wasm provider tests: fixtures, contexts, an initialized provider and a
// temporary directory.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "microvm/wasm/wasm_provider.hpp"
#include "support/host_files.hpp"
#include "support/result_text.hpp"
#include "support/scoped_env.hpp"

namespace wasmtest {

// The bytes of fixtures/NAME (a .wat file).
std::vector<uint8_t> fixture(const std::string& name);
std::vector<uint8_t> bytes_of(const std::string& text);
// A binary module compiled from a fixture (through the engine's WAT converter).
std::vector<uint8_t> binary_fixture(const std::string& name);

microvm::ExecutionContext context(std::vector<uint8_t> module, std::vector<std::string> args = {});

// Writes text to path, creating parent directories.
void write_file(const std::filesystem::path& path, const std::string& text);
std::string read_file(const std::filesystem::path& path);

// mkdtemp("/tmp/microvm-wasm-test-XXXXXX"), removed with everything in it.
class TempDir : public testsupport::HostDir {
  public:
    TempDir() : HostDir("microvm-wasm-test") {}
};

class WasmTest : public ::testing::Test {
  protected:
    void SetUp() override { ASSERT_TRUE(provider.initialize()); }
    void TearDown() override { provider.cleanup(); }
    microvm::ExecutionResult run(const microvm::ExecutionContext& ctx) {
        return provider.execute_program(ctx);
    }
    // Runs ctx on a thread and cancels it after `after`: the result, and how long the run took to
    // end once cancelled.
    std::pair<microvm::ExecutionResult, std::chrono::steady_clock::duration> run_cancelled_after(
        microvm::ExecutionContext ctx, std::chrono::milliseconds after) {
        microvm::CancelSource cancel;
        ctx.cancel = cancel.token();
        microvm::ExecutionResult r;
        std::thread runner([&] { r = run(ctx); });
        std::this_thread::sleep_for(after);
        const auto cancelled_at = std::chrono::steady_clock::now();
        cancel.cancel();
        runner.join();
        return {std::move(r), std::chrono::steady_clock::now() - cancelled_at};
    }
    // What a run of a cached module costs before the module does anything: an empty module's
    // measured CPU time and duration on its second run, the start of the engine's program (about
    // 1 ms; about 130 ms under AddressSanitizer, whose program image is 40 MB). A module not yet
    // cached costs two (its compile's program too). Tests that bound the CPU or the time a
    // module's own work takes count from it.
    microvm::ExecutionMetadata empty_run() {
        const auto ctx = context(bytes_of("(module (func (export \"_start\")))"));
        (void)run(ctx);
        auto r = run(ctx);
        EXPECT_EQ(r.status, microvm::Status::Ok) << testsupport::describe(r);
        return r.metadata;
    }
    microvm::WasmProvider provider;
};

using testsupport::ScopedEnv;
using testsupport::describe;  // for assertion messages

}  // namespace wasmtest
