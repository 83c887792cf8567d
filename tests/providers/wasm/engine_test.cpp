// The engine entry point the RTFS guest (rtfs-guest.wasm) will use: the job on stdin, the result
// frame on fd 3, preopens after it.
#include "compiled_module.hpp"
#include "engine.hpp"
#include "module_cache.hpp"
#include "test_support.hpp"

namespace wasmtest {
namespace {

using microvm::Status;

TEST(Engine, GuestProtocolShape) {
    microvm::wasm::ModuleCache cache(4, 64u << 20);
    auto module = cache.get_or_compile(fixture("guest_protocol.wat"));
    ASSERT_TRUE(module) << module.error().message;
    TempDir dir;
    microvm::MicroVMConfig config;
    config.fs_policy = microvm::FileSystemPolicy::read_only({dir.path().string()});
    microvm::wasm::RunRequest request;
    request.program_name = "rtfs-guest.wasm";
    request.stdin_data = "{\"source\": \"(+ 1 2)\"}";
    request.result_sink = true;
    auto outcome = microvm::wasm::run_module(**module, config, request);
    ASSERT_FALSE(outcome.failure) << outcome.error_message;
    EXPECT_EQ(outcome.result_bytes, "result:{\"source\": \"(+ 1 2)\"}");
    EXPECT_FALSE(outcome.result_truncated);
    EXPECT_EQ(outcome.metadata.stdout_data, "running\n");
    EXPECT_EQ(outcome.metadata.stderr_data, "10");  // fd 3: not a directory, fd 4: the preopen
}

TEST(Engine, ResultSinkIsCapped) {
    microvm::wasm::ModuleCache cache(4, 64u << 20);
    auto module = cache.get_or_compile(fixture("guest_protocol.wat"));
    ASSERT_TRUE(module);
    microvm::wasm::RunRequest request;
    request.stdin_data = std::string(100, 'j');
    request.result_sink = true;
    request.result_cap = 10;
    auto outcome = microvm::wasm::run_module(**module, microvm::MicroVMConfig{}, request);
    EXPECT_EQ(outcome.result_bytes, "result:jjj");
    EXPECT_TRUE(outcome.result_truncated);
}

// The cache bound counts what a cached module holds: each function's own copy of its signature
// (two vectors) included, which a module of many functions with long signatures makes large.
TEST(Engine, ACachedModulesFootprintCountsTheFunctionsSignatures) {
    std::string params;
    for (int i = 0; i < 200; ++i) params += " i32";
    std::string wat = "(module (type $t (func (param" + params + ")))";
    for (int i = 0; i < 2000; ++i) wat += " (func (type $t))";
    microvm::wasm::ModuleCache cache(4, 64u << 20);
    auto module = cache.get_or_compile(bytes_of(wat + ")"));
    ASSERT_TRUE(module) << module.error().message;
    EXPECT_GE((*module)->footprint_bytes, size_t{2000} * 200 * sizeof(wabt::Type));
}

}  // namespace
}  // namespace wasmtest
