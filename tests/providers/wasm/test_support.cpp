#include "test_support.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "wat_to_binary.hpp"

namespace wasmtest {

std::vector<uint8_t> bytes_of(const std::string& text) {
    return {text.begin(), text.end()};
}

std::vector<uint8_t> fixture(const std::string& name) {
    std::ifstream in(std::string(WASM_FIXTURES_DIR) + "/" + name, std::ios::binary);
    EXPECT_TRUE(in) << "missing fixture " << name;
    std::stringstream ss;
    ss << in.rdbuf();
    return bytes_of(ss.str());
}

std::vector<uint8_t> binary_fixture(const std::string& name) {
    auto binary = microvm::wasm::wat_to_binary(fixture(name));
    EXPECT_TRUE(binary) << (binary ? "" : binary.error().message);
    return binary ? *binary : std::vector<uint8_t>{};
}

microvm::ExecutionContext context(std::vector<uint8_t> module, std::vector<std::string> args) {
    microvm::ExecutionContext ctx;
    ctx.program = microvm::WasmModule{std::move(module)};
    ctx.args = std::move(args);
    ctx.config.timeout = std::chrono::seconds(20);
    ctx.config.memory_limit_mb = 64;
    return ctx;
}

void write_file(const std::filesystem::path& path, const std::string& text) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace wasmtest
