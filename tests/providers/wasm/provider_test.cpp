// The provider as a whole: identity, RTFS refusal without its guest, the module cache, parallel executions.
#include <atomic>
#include <cstdlib>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

#include "support/expectations.hpp"
#include "test_support.hpp"

namespace wasmtest {
namespace {

using microvm::Status;

TEST_F(WasmTest, Identity) {
    EXPECT_EQ(provider.name(), "wasm");
    EXPECT_EQ(provider.isolation(), microvm::Isolation::Wasm);
    EXPECT_TRUE(provider.availability().available);
}

TEST_F(WasmTest, RtfsIsRefusedWithTheReasonWhenTheGuestIsMissing) {
    ScopedEnv missing("MICROVM_RTFS_WASM", "/nonexistent/rtfs-guest.wasm");
    microvm::ExecutionContext ctx;
    ctx.program = microvm::RtfsSource{"(+ 1 2)"};
    auto r = run(ctx);
    EXPECT_EQ(r.status, Status::PolicyViolation) << describe(r);
    ASSERT_TRUE(r.error);
    EXPECT_NE(r.error->message.find("provider 'wasm' cannot run the program: rtfs: "
                                    "MICROVM_RTFS_WASM names /nonexistent/rtfs-guest.wasm"),
              std::string::npos)
        << r.error->message;
    EXPECT_FALSE(r.value.has_value());
}

TEST_F(WasmTest, FindRtfsGuestHonoursTheEnvironment) {
    {
        ScopedEnv env("MICROVM_RTFS_WASM", "/nonexistent/rtfs-guest.wasm");
        EXPECT_FALSE(microvm::find_rtfs_guest_wasm());
    }
    TempDir tmp;
    write_file(tmp.path() / "rtfs-guest.wasm", "\0asm");
    ScopedEnv env("MICROVM_RTFS_WASM", (tmp.path() / "rtfs-guest.wasm").c_str());
    auto found = microvm::find_rtfs_guest_wasm();
    ASSERT_TRUE(found);
    EXPECT_EQ(*found, (tmp.path() / "rtfs-guest.wasm").string());
}

// As the guest runner's (red team, 2026-12-05): a module another user could replace (its file,
// or a directory above it, theirs) is refused; it would see every RTFS program's inputs and
// forge its results.
TEST_F(WasmTest, AGuestModuleAnotherUserCouldReplaceIsRefused) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "files of another user need root to make");
    TempDir tmp;
    ASSERT_EQ(::chmod(tmp.path().c_str(), 0755), 0);
    std::filesystem::create_directory(tmp.path() / "theirs");
    write_file(tmp.path() / "theirs" / "rtfs-guest.wasm", "\0asm");
    ASSERT_EQ(::chown((tmp.path() / "theirs").c_str(), 65534, 65534), 0);
    ScopedEnv env("MICROVM_RTFS_WASM", (tmp.path() / "theirs" / "rtfs-guest.wasm").c_str());
    auto found = microvm::find_rtfs_guest_wasm();
    ASSERT_FALSE(found) << "a module below uid 65534's directory was taken";
    EXPECT_NE(found.error().message.find("owned by uid 65534"), std::string::npos) << found.error().message;

    // Through their symlink to a directory of ours (a review): the path judged is the one
    // returned, never the one they may repoint after the check.
    std::filesystem::create_directory(tmp.path() / "ours");
    write_file(tmp.path() / "ours" / "rtfs-guest.wasm", "\0asm");
    std::filesystem::create_directory_symlink(tmp.path() / "ours", tmp.path() / "theirs" / "d");
    ScopedEnv linked("MICROVM_RTFS_WASM", (tmp.path() / "theirs" / "d" / "rtfs-guest.wasm").c_str());
    auto through = microvm::find_rtfs_guest_wasm();
    ASSERT_TRUE(through) << through.error().message;
    EXPECT_EQ(*through, (tmp.path() / "ours" / "rtfs-guest.wasm").string());
}

TEST_F(WasmTest, OtherProgramKindsAreRefused) {
    microvm::ExecutionContext ctx;
    ctx.program = microvm::ExternalProgram{"/bin/true", {}};
    EXPECT_EQ(run(ctx).status, Status::PolicyViolation);
}

TEST_F(WasmTest, SecondRunOfAModuleHitsTheCache) {
    auto ctx = context(fixture("hello.wat"));
    ASSERT_EQ(run(ctx).status, Status::Ok);
    auto after_first = provider.cache_stats();
    ASSERT_EQ(run(ctx).status, Status::Ok);
    auto after_second = provider.cache_stats();
    EXPECT_EQ(after_second.misses, after_first.misses);
    EXPECT_EQ(after_second.hits, after_first.hits + 1);
    EXPECT_EQ(after_second.entries, 1u);
}

TEST_F(WasmTest, CacheIsBoundedByEntries) {
    microvm::WasmProvider small;
    ASSERT_TRUE(small.initialize({{"module_cache_entries", 2}}));
    for (int i = 0; i < 5; ++i) {
        std::string text =
            "(module (func (export \"_start\") (drop (i32.const " + std::to_string(i) + "))))";
        ASSERT_EQ(small.execute_program(context(bytes_of(text))).status, Status::Ok);
    }
    EXPECT_EQ(small.cache_stats().entries, 2u);
    EXPECT_EQ(small.cache_stats().misses, 5u);
}

TEST_F(WasmTest, CacheEvictsTheLeastRecentlyUsed) {
    microvm::WasmProvider small;
    ASSERT_TRUE(small.initialize({{"module_cache_entries", 2}}));
    auto module = [](int i) {
        return context(bytes_of("(module (func (export \"_start\") (drop (i32.const " +
                                std::to_string(i) + "))))"));
    };
    for (int i : {0, 1, 0, 2}) ASSERT_EQ(small.execute_program(module(i)).status, Status::Ok);
    auto before = small.cache_stats();  // 0 was used after 1, so 2 evicted 1
    ASSERT_EQ(small.execute_program(module(0)).status, Status::Ok);
    EXPECT_EQ(small.cache_stats().hits, before.hits + 1);
    ASSERT_EQ(small.execute_program(module(1)).status, Status::Ok);
    EXPECT_EQ(small.cache_stats().misses, before.misses + 1);
}

TEST_F(WasmTest, ParallelExecutionsAreIndependent) {
    std::vector<std::thread> threads;
    std::atomic<int> good{0};
    for (int t = 0; t < 6; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 15; ++i) {
                auto ctx = context(fixture("args.wat"), {"thread-" + std::to_string(t)});
                auto r = provider.execute_program(ctx);
                if (r.status == Status::Ok &&
                    r.metadata.stdout_data == "module.wasm\nthread-" + std::to_string(t) + "\n") {
                    ++good;
                }
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(good.load(), 6 * 15);
}

}  // namespace
}  // namespace wasmtest
