// A C program built against wasi-libc (c/wasi_smoke.c) runs its checks inside the engine.
#include <filesystem>

#include "test_support.hpp"
#include "support/expectations.hpp"

namespace wasmtest {
namespace {

TEST_F(WasmTest, WasiLibcProgramPassesItsChecks) {
    const std::string path = WASI_SMOKE_WASM;
    MICROVM_REQUIRE("wasm-rtfs", !path.empty(), "clang-19 or wasi-libc missing: no wasi_smoke.wasm");
    std::vector<uint8_t> module;
    {
        std::string bytes = read_file(path);
        module.assign(bytes.begin(), bytes.end());
    }
    TempDir dir;
    auto ctx = context(module, {dir.path().string()});
    ctx.config.fs_policy = microvm::FileSystemPolicy::read_write({dir.path().string()});
    ctx.config.env_vars = {{"GREETING", "hello"}};
    auto r = run(ctx);
    EXPECT_EQ(r.status, microvm::Status::Ok) << describe(r);
    EXPECT_EQ(r.metadata.exit_code, 0);
    EXPECT_NE(r.metadata.stdout_data.find("checks done: 0 failed"), std::string::npos)
        << r.metadata.stdout_data;
}

}  // namespace
}  // namespace wasmtest
