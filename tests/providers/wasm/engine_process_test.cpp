// Modules run in a confined child of the host executing the engine's program (engine_process.hpp):
// compiled there, run there, the compiled module handed back for the cache; the RTFS guest, the
// project's own module, in the host process.
#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "engine_process.hpp"
#include "host/landlock.hpp"
#include "host/landlock_private.hpp"
#include "host/private_files.hpp"
#include "host/trusted_state.hpp"
#include "microvm/built_programs.hpp"
#include "rtfs_guest_required.hpp"
#include "support/expectations.hpp"
#include "test_support.hpp"

namespace wasmtest {
namespace {

using microvm::Status;

std::string engine_process(const microvm::ExecutionResult& r) {
    auto it = r.metadata.provider_details.find("engine_process");
    return it == r.metadata.provider_details.end() ? "" : it->second;
}

TEST_F(WasmTest, AModuleIsCompiledAndRunInAConfinedChildOfTheHost) {
    MICROVM_REQUIRE("landlock", microvm::host::landlock::abi_version() > 0, "the kernel has no Landlock");
    auto r = run(context(fixture("hello.wat")));
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data, "hello, wasm\n");
    const std::string how = engine_process(r);
    EXPECT_EQ(how.rfind("engine's program (microvm-wasm-engine); seccomp; landlock", 0), 0u) << how;
    EXPECT_EQ(provider.cache_stats().entries, 1u);  // compiled in the child, cached here
}

// SIMD is beyond the module codec: such a module cannot be handed back, so it is compiled in each
// run's child and never in the host. The cache remembers that it is (a marker, no module), so the
// compiler's child runs once, not once more per run: the second run is a hit.
TEST_F(WasmTest, AModuleTheCodecDoesNotCarryIsCompiledInEachRunsChild) {
    auto ctx = context(bytes_of(R"((module
      (func (export "_start") (drop (i32x4.extract_lane 2 (v128.const i32x4 1 2 3 4))))))"));
    for (int i = 0; i < 2; ++i) {
        auto r = run(ctx);
        ASSERT_EQ(r.status, Status::Ok) << describe(r);
        EXPECT_FALSE(engine_process(r).empty());
    }
    EXPECT_EQ(provider.cache_stats().entries, 1u);
    EXPECT_EQ(provider.cache_stats().misses, 1u);
    EXPECT_EQ(provider.cache_stats().hits, 1u);
    // An invalid module is never remembered: each run's compiler refuses it again.
    auto bad = context(bytes_of("(module (func (export \"_start\") (i32.add)))"));
    for (int i = 0; i < 2; ++i) EXPECT_EQ(run(bad).status, Status::InvalidInput);
    EXPECT_EQ(provider.cache_stats().entries, 1u);
    EXPECT_EQ(provider.cache_stats().misses, 3u);
}

TEST_F(WasmTest, AnInvalidModuleIsRefusedByTheChildsCompiler) {
    auto r = run(context(bytes_of("(module (func (export \"_start\") (i32.add)))")));
    EXPECT_EQ(r.status, Status::InvalidInput) << describe(r);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->reason, microvm::Reason::InvalidProgram) << r.error->message;
    EXPECT_EQ(provider.cache_stats().entries, 0u);
}

// The kernel's count of the child's CPU time: a module that computes until its 300 ms timeout
// reports what it got of the CPU (at least 20 ms even on a loaded machine), where the host's own
// thread, which only waited, used next to none.
TEST_F(WasmTest, TheChildsCpuTimeIsCountedFromTheKernel) {
    auto ctx = context(fixture("infinite_loop.wat"));
    ctx.config.timeout = std::chrono::milliseconds(300);
    auto r = run(ctx);
    EXPECT_EQ(r.status, Status::Timeout) << describe(r);
    ASSERT_TRUE(r.metadata.cpu_time);
    EXPECT_GT(*r.metadata.cpu_time, std::chrono::milliseconds(20));
}

// A compile that used up the run's time leaves nothing to run: the host starts no program past the
// deadline (its start, decode and instantiation of a large module only added to the run's CPU,
// about 1 s for the table.init attack of bulk_limits_test.cpp).
TEST(EngineProcess, NoProgramStartsOnceTheDeadlineHasPassed) {
    microvm::MicroVMConfig config;
    config.timeout = std::chrono::seconds(1);
    microvm::wasm::RunRequest request;
    request.deadline = std::chrono::steady_clock::now() - std::chrono::milliseconds(1);
    const auto source = fixture("hello.wat");
    auto outcome = microvm::wasm::run_module_confined(nullptr, source, config, request);
    EXPECT_EQ(outcome.failure, microvm::Reason::Timeout) << outcome.error_message;
    EXPECT_FALSE(outcome.metadata.cpu_time);  // no program ran, so no kernel figures of one
    EXPECT_EQ(outcome.metadata.provider_details.count("engine_process"), 0u);
}

// The engine's program runs every module with the execution's inputs: one another user could
// replace (a copy writable by others, named by $MICROVM_WASM_ENGINE) is refused before anything
// runs, never executed, never passed over for another.
TEST_F(WasmTest, AnEngineProgramOthersCouldReplaceIsRefused) {
    TempDir dir;
    const auto copy = dir.path() / "microvm-wasm-engine";
    std::filesystem::copy_file(microvm::kWasmEngine.build_path, copy);
    std::filesystem::permissions(copy, std::filesystem::perms::all);  // 0777
    microvm::ExecutionResult r;
    {
        ScopedEnv engine("MICROVM_WASM_ENGINE", copy.string());
        r = run(context(fixture("hello.wat")));
    }
    EXPECT_EQ(r.status, Status::SetupError) << describe(r);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->reason, microvm::Reason::SetupError) << r.error->message;
    EXPECT_NE(r.error->message.find("MICROVM_WASM_ENGINE"), std::string::npos) << r.error->message;
    EXPECT_EQ(r.metadata.stdout_data, "");
}

// The engine's program starts afresh: the protections this process holds (the trusted state its
// providers keep, the private files of a daemon) are not in it unless the host carries them. Run
// there, the preopens went unjudged: a module planted a runsc the host's settings named, and read
// a daemon's token file (red team, 2026-12-07). The host opens and judges the preopens and hands
// its private files over.
TEST_F(WasmTest, TheHostsProtectionsHoldInTheEnginesProgram) {
    TempDir dir;
    std::filesystem::create_directories(dir.path() / "state");
    microvm::host::protect_trusted_state((dir.path() / "state" / "runsc").string());
    auto ctx = context(fixture("hello.wat"));
    ctx.config.fs_policy = microvm::FileSystemPolicy::read_write({(dir.path() / "state").string()});
    auto r = run(ctx);
    EXPECT_EQ(r.status, Status::InvalidInput) << describe(r);
    ASSERT_TRUE(r.error);
    EXPECT_NE(r.error->message.find("trusted state"), std::string::npos) << r.error->message;
    EXPECT_EQ(r.metadata.stdout_data, "");

    std::filesystem::create_directories(dir.path() / "daemon");
    write_file(dir.path() / "daemon" / "tokens", "t:secret\n");
    microvm::host::keep_private((dir.path() / "daemon" / "tokens").string());
    ctx = context(bytes_of(R"((module
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "tokens")
  (func (export "_start") (local $err i32)
    (local.set $err (call $open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 6) (i32.const 0)
                                (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 600)))
    (if (local.get $err) (then (call $exit (i32.add (i32.const 100) (local.get $err)))))
    (i32.store (i32.const 400) (i32.const 1000))
    (i32.store (i32.const 404) (i32.const 200))
    (drop (call $read (i32.load (i32.const 600)) (i32.const 400) (i32.const 1) (i32.const 500)))
    (i32.store (i32.const 404) (i32.load (i32.const 500)))
    (drop (call $write (i32.const 1) (i32.const 400) (i32.const 1) (i32.const 500)))
    (call $exit (i32.const 0))))
)"));
    ctx.config.fs_policy = microvm::FileSystemPolicy::read_only({(dir.path() / "daemon").string()});
    r = run(ctx);
    constexpr int kAccesErrno = 2;  // WASI's EACCES
    EXPECT_EQ(r.metadata.exit_code, 100 + kAccesErrno) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data.find("secret"), std::string::npos) << describe(r);
    // The same module reads a file nobody keeps private: the refusal above is the protection's.
    write_file(dir.path() / "open" / "tokens", "open\n");
    ctx.config.fs_policy = microvm::FileSystemPolicy::read_only({(dir.path() / "open").string()});
    r = run(ctx);
    EXPECT_EQ(r.metadata.exit_code, 0) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data, "open\n");
}

// The engine's Landlock rules are split around a file the host keeps private inside a granted
// tree (host/landlock_private.hpp); a split that cannot be made (more entries beside the file
// than the rules may number) refuses the run before the module starts, never leaving the engine
// the tree granted whole.
TEST_F(WasmTest, ARunWhoseRulesCannotBeSplitAroundAKeptFileIsRefused) {
    MICROVM_REQUIRE("landlock", microvm::host::landlock::abi_version() > 0, "the kernel has no Landlock");
    TempDir dir;
    const std::filesystem::path crowd = dir.path() / "crowd";
    std::filesystem::create_directories(crowd);
    for (size_t i = 0; i <= microvm::host::kMaxPrivateAwareRules; ++i) write_file(crowd / std::to_string(i), "");
    write_file(crowd / "tokens", "t:secret\n");
    microvm::host::keep_private((crowd / "tokens").string());
    auto ctx = context(fixture("hello.wat"));
    ctx.config.fs_policy = microvm::FileSystemPolicy::read_only({crowd.string()});
    auto r = run(ctx);
    EXPECT_EQ(r.status, Status::SetupError) << describe(r);
    ASSERT_TRUE(r.error);
    EXPECT_NE(r.error->message.find("Landlock rules"), std::string::npos) << r.error->message;
    EXPECT_EQ(r.metadata.stdout_data, "");
    // With a few entries beside the kept file the same run is split and runs.
    std::filesystem::remove_all(crowd);
    std::filesystem::create_directories(crowd);
    for (int i = 0; i < 10; ++i) write_file(crowd / std::to_string(i), "");
    write_file(crowd / "tokens", "t:secret\n");
    r = run(ctx);
    EXPECT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data, "hello, wasm\n");
}

// The host passes the preopens it opened to the engine's program and closes its own copies once
// the program has them: held for the whole run, 256 policy paths a run made three runs of one
// client take 780 of the host's descriptors (red team, 2026-12-07).
TEST_F(WasmTest, TheHostHoldsNoPreopenWhileTheModuleRuns) {
    TempDir dir;
    std::vector<std::string> paths;
    for (int i = 0; i < 64; ++i) {
        std::filesystem::create_directories(dir.path() / std::to_string(i));
        paths.push_back((dir.path() / std::to_string(i)).string());
    }
    auto open_descriptors = [] {
        return std::distance(std::filesystem::directory_iterator("/proc/self/fd"), std::filesystem::directory_iterator{});
    };
    auto ctx = context(fixture("sleep.wat"), {"600"});
    ctx.config.fs_policy = microvm::FileSystemPolicy::read_only(paths);
    const auto before = open_descriptors();
    std::atomic<long> during{0};
    std::thread sampler([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        during = open_descriptors();
    });
    auto r = run(ctx);
    sampler.join();
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_LT(during - before, 16) << "descriptors before: " << before << ", during the run: " << during;
}

// The RTFS guest is the project's own module, which a program drives only through its data:
// it runs in the host process, as the one-shot speed of `microvm eval -p wasm` needs.
TEST_F(WasmTest, TheRtfsGuestRunsInTheHostProcess) {
    REQUIRE_RTFS_GUEST();
    microvm::ExecutionContext ctx;
    ctx.program = microvm::RtfsSource{"(+ 1 2)"};
    auto r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(engine_process(r), "");
}

}  // namespace
}  // namespace wasmtest
