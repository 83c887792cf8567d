// Shared helpers of the wasm provider tests: fixtures, contexts, an initialized provider and a
// temporary directory.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "microvm/wasm/wasm_provider.hpp"
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

class TempDir {
  public:
    TempDir();
    ~TempDir();
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

class WasmTest : public ::testing::Test {
  protected:
    void SetUp() override { ASSERT_TRUE(provider.initialize()); }
    void TearDown() override { provider.cleanup(); }
    microvm::ExecutionResult run(const microvm::ExecutionContext& ctx) {
        return provider.execute_program(ctx);
    }
    microvm::WasmProvider provider;
};

using testsupport::ScopedEnv;
using testsupport::describe;  // for assertion messages

}  // namespace wasmtest
