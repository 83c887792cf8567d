// Process sandboxes built ahead (Provider::prepare, a warm pool's entries) beyond the shared
// suite's built-ahead run: what comes from the launch and not from the shape, when time starts,
// use once, teardown, and the launch message the init reads.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <spawn.h>
#include <string>
#include <thread>

#include "host_probes.hpp"
#include "process/launch_message.hpp"
#include "microvm/guest_protocol.hpp"
#include "process/process_provider.hpp"
#include "process/sandbox.hpp"
#include "support/expectations.hpp"
#include "support/host_files.hpp"
#include "support/result_text.hpp"

namespace microvm {
namespace {

using namespace std::chrono_literals;
using testsupport::describe;

ExecutionContext shell(const std::string& script) {
    ExecutionContext ctx;
    ctx.program = ExternalProgram{"/bin/sh", {"-c", script}};
    ctx.config.fs_policy = FileSystemPolicy::read_only();  // the host's tools, read-only
    ctx.config.timeout = 20s;
    return ctx;
}

class BuiltAheadTest : public ::testing::Test {
  protected:
    void SetUp() override {
        MICROVM_REQUIRE("process", provider_.availability().available,
                        provider_.availability().reason);
        auto ok = provider_.initialize();
        ASSERT_TRUE(ok) << ok.error().message;
    }
    void TearDown() override { provider_.cleanup(); }

    std::unique_ptr<PreparedSandbox> prepare(const ExecutionContext& shape) {
        auto p = provider_.prepare(shape);
        EXPECT_TRUE(p) << p.error().message;
        return p ? std::move(*p) : nullptr;
    }

    ProcessProvider provider_;
};

TEST_F(BuiltAheadTest, TheLaunchBringsTheArgumentsAndEnvironment) {
    ExecutionContext shape = shell("echo shape; echo $WHO");
    shape.config.env_vars = {{"WHO", "the shape"}};
    auto prepared = prepare(shape);
    ASSERT_TRUE(prepared);

    ExecutionContext ctx = shell("echo launch; echo $WHO");
    ctx.config.env_vars = {{"WHO", "the launch"}};
    ASSERT_TRUE(provider_.fits(*prepared, ctx));
    ExecutionResult r = provider_.execute_program(ctx, std::move(prepared));
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data, "launch\nthe launch\n");
}

// An RTFS job reaches the guest runner on stdin, given at the launch.
TEST_F(BuiltAheadTest, TheLaunchBringsTheInput) {
    MICROVM_REQUIRE("guest-runner", guest::find_guest_runner(), "not built");
    ExecutionContext shape;
    shape.program = RtfsSource{"(+ 1 1)"};
    auto prepared = prepare(shape);
    ASSERT_TRUE(prepared);
    ExecutionContext ctx;
    ctx.program = RtfsSource{"(* 6 7)"};
    ASSERT_TRUE(provider_.fits(*prepared, ctx));
    ExecutionResult r = provider_.execute_program(ctx, std::move(prepared));
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.value, "42");
}

TEST_F(BuiltAheadTest, OnlyTheSameShapeFits) {
    ExecutionContext shape = shell("true");
    shape.config.memory_limit_mb = 64;
    auto prepared = prepare(shape);
    ASSERT_TRUE(prepared);

    ExecutionContext same = shell("echo other arguments");
    same.config.memory_limit_mb = 64;
    same.config.timeout = 3s;  // the time limit is the launch's own
    EXPECT_TRUE(provider_.fits(*prepared, same));

    ExecutionContext more_memory = same;
    more_memory.config.memory_limit_mb = 128;
    EXPECT_FALSE(provider_.fits(*prepared, more_memory));
    ExecutionContext other_program = same;
    other_program.program = ExternalProgram{"/bin/cat", {}};
    EXPECT_FALSE(provider_.fits(*prepared, other_program));
    ExecutionContext other_fs = same;
    other_fs.config.fs_policy = FileSystemPolicy{};  // none
    EXPECT_FALSE(provider_.fits(*prepared, other_fs));
    ExecutionContext full_network = same;
    full_network.config.network_policy = NetworkPolicy::full();
    EXPECT_FALSE(provider_.fits(*prepared, full_network));
    ExecutionContext host_list = same;
    host_list.config.network_policy = NetworkPolicy::allow({"example.com"});
    EXPECT_FALSE(provider_.fits(*prepared, host_list));

    // One that does not fit runs in a fresh sandbox with its own limits (the prepared one is
    // discarded): 100 MiB fit under 128 MiB, not under the shape's 64.
    ExecutionContext big = shell("head -c 100000000 /dev/zero | tail -c 1 >/dev/null; echo done");
    big.config.memory_limit_mb = 128;
    ExecutionResult r = provider_.execute_program(big, std::move(prepared));
    EXPECT_EQ(r.status, Status::Ok) << describe(r);
}

TEST_F(BuiltAheadTest, HostListsAreNotBuiltAhead) {
    ExecutionContext shape = shell("true");
    shape.config.network_policy = NetworkPolicy::allow({"example.com"});
    auto p = provider_.prepare(shape);
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().kind, Failure::Kind::Unsupported);
    EXPECT_NE(p.error().message.find("host list"), std::string::npos) << p.error().message;
}

TEST_F(BuiltAheadTest, TimeAndLimitsCountFromTheLaunch) {
    ExecutionContext shape = shell("true");
    shape.config.timeout = 1500ms;
    auto prepared = prepare(shape);
    ASSERT_TRUE(prepared);
    std::this_thread::sleep_for(2s);  // longer than the time limit: it must not have started

    ExecutionContext ctx = shell("sleep 1");
    ctx.config.timeout = 1500ms;
    ExecutionResult r = provider_.execute_program(ctx, std::move(prepared));
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_LT(r.metadata.duration, 1500ms);
    EXPECT_GE(r.metadata.duration, 1s);
    // The limit still holds from there.
    prepared = prepare(shape);
    ASSERT_TRUE(prepared);
    ExecutionContext slow_ctx = shell("sleep 5");
    slow_ctx.config.timeout = 1500ms;
    ExecutionResult slow = provider_.execute_program(slow_ctx, std::move(prepared));
    EXPECT_EQ(slow.status, Status::Timeout) << describe(slow);
}

TEST_F(BuiltAheadTest, NothingOfOneExecutionReachesTheNext) {
    ExecutionContext shape = shell("true");
    auto first = prepare(shape);
    auto second = prepare(shape);
    ASSERT_TRUE(first && second);
    // A daemon with a command line no other test uses.
    const std::string daemon = "sleep 600." + std::to_string(::getpid());
    ExecutionResult a = provider_.execute_program(
        shell("echo secret > /tmp/left-behind; (setsid " + daemon +
              " &); sleep 0.2; ps -e -o comm=; echo planted"),
        std::move(first));
    ASSERT_EQ(a.status, Status::Ok) << describe(a);
    ExecutionResult b = provider_.execute_program(
        shell("ls /tmp; test -e /tmp/left-behind && echo FOUN\"\"D; ps -e -o args= 2>/dev/null || ls /proc"),
        std::move(second));
    ASSERT_EQ(b.status, Status::Ok) << describe(b);
    EXPECT_EQ(b.metadata.stdout_data.find("FOUND"), std::string::npos)
        << a.metadata.stdout_data << a.metadata.stderr_data << "\n---\n" << b.metadata.stdout_data;
    EXPECT_EQ(b.metadata.stdout_data.find("sleep"), std::string::npos) << b.metadata.stdout_data;
    // The first one's daemon died with its sandbox.
    EXPECT_TRUE(enforcement::processes_with_marker(daemon).empty());
    EXPECT_NE(a.metadata.stdout_data.find("planted"), std::string::npos);
    EXPECT_NE(a.metadata.stdout_data.find("sleep"), std::string::npos) << "the daemon never ran";
}

TEST_F(BuiltAheadTest, UnusedSandboxesLeaveNothingBehind) {
    const enforcement::HostSnapshot before = enforcement::take_snapshot();
    {
        std::vector<std::unique_ptr<PreparedSandbox>> kept;
        for (int i = 0; i < 4; ++i) kept.push_back(prepare(shell("true")));
        EXPECT_EQ(enforcement::take_snapshot().children.size(), before.children.size() + 4);
    }
    const enforcement::HostSnapshot after = enforcement::take_snapshot();
    EXPECT_EQ(after.children, before.children);
    EXPECT_EQ(after.cgroups, before.cgroups);
    EXPECT_EQ(after.mounts, before.mounts);
    EXPECT_EQ(after.open_fds, before.open_fds);
}

TEST_F(BuiltAheadTest, ASandboxBuiltAheadLaunchesOnce) {
    auto sandbox = process::Sandbox::create({});
    ASSERT_TRUE(sandbox) << sandbox.error().message;
    host::SandboxRequest req;
    req.program = "/bin/echo";
    req.argv = {"/bin/echo", "once"};
    req.env = {"PATH=/bin"};
    auto prepared = (*sandbox)->prepare(req);
    ASSERT_TRUE(prepared) << prepared.error().message;
    auto first = (*prepared)->launch(req);
    ASSERT_TRUE(first) << first.error().message;
    EXPECT_EQ(first->stdout_data.data, "once\n");
    auto again = (*prepared)->launch(req);
    ASSERT_FALSE(again);
    EXPECT_NE(again.error().message.find("already used"), std::string::npos);
}

// A bound source replaced between the provider's fits() and the launch: the backend refuses to
// launch into the sandbox, which holds the old object, whoever calls it.
TEST_F(BuiltAheadTest, ALaunchIntoASandboxWithAReplacedSourceIsRefused) {
    auto sandbox = process::Sandbox::create({});
    ASSERT_TRUE(sandbox) << sandbox.error().message;
    const testsupport::HostDir scratch("built-ahead-src");
    const std::filesystem::path& dir = scratch.path();
    std::filesystem::permissions(dir, std::filesystem::perms(0755));  // as a directory made here was
    const std::filesystem::path file = dir / "file";
    std::ofstream(file) << "old-file\n";
    host::SandboxRequest req;
    req.program = "/bin/cat";
    req.argv = {"/bin/cat", file.string()};
    req.fs_policy = FileSystemPolicy::read_only({file.string()});
    auto prepared = (*sandbox)->prepare(req);
    ASSERT_TRUE(prepared) << prepared.error().message;
    EXPECT_TRUE((*prepared)->current());
    std::ofstream(dir / "file.new") << "new-file\n";
    std::filesystem::rename(dir / "file.new", file);
    EXPECT_FALSE((*prepared)->current());
    auto refused = (*prepared)->launch(req);
    ASSERT_FALSE(refused) << refused->stdout_data.data;
    EXPECT_NE(refused.error().message.find("replaced since it was built"), std::string::npos)
        << refused.error().message;
    auto fresh = (*sandbox)->run(req);
    ASSERT_TRUE(fresh) << fresh.error().message;
    EXPECT_EQ(fresh->stdout_data.data, "new-file\n");
}

// Red-team finding (2026-12-03): the result is returned before the init's exit. The attack: a
// program whose double-forked child closes its output (so nothing waits for it) and appends to
// a writable bind as fast as it can. Nothing of it may run once the result is back: the file
// does not grow after it, fresh or built ahead.
TEST_F(BuiltAheadTest, WhatTheProgramLeftRunningEndsBeforeTheResult) {
    const testsupport::HostDir scratch("leftover-writer");
    const std::filesystem::path& dir = scratch.path();
    std::filesystem::permissions(dir, std::filesystem::perms::all);  // the sandbox's user writes
    const std::string file = (dir / "f").string();
    ExecutionContext ctx = shell("( exec >&- 2>&- </dev/null; while :; do echo x >> " + file +
                                 "; done ) & i=0; while [ ! -s " + file + " ] && [ $i -lt 100000 ]; "
                                 "do i=$((i+1)); done; echo started");
    ctx.config.fs_policy = FileSystemPolicy::read_write({dir.string()});
    auto size = [&] {
        std::error_code ec;
        auto n = std::filesystem::file_size(file, ec);
        return ec ? 0 : n;
    };
    for (int i = 0; i < 10; ++i) {
        const bool ahead = i % 2 == 1;
        std::filesystem::remove(file);
        auto prepared = ahead ? prepare(ctx) : nullptr;
        ExecutionResult r = ahead ? provider_.execute_program(ctx, std::move(prepared))
                                  : provider_.execute_program(ctx);
        const auto at_result = size();
        ASSERT_EQ(r.status, Status::Ok) << describe(r);
        ASSERT_EQ(r.metadata.stdout_data, "started\n");
        ASSERT_GT(at_result, 0u) << "the writer never ran";
        std::this_thread::sleep_for(200ms);
        EXPECT_EQ(size(), at_result) << (ahead ? "built ahead" : "fresh") << ": the writer outlived the result";
    }
}

// The init's report pipe and the launch socket are the host's channels: a program holding the
// report pipe could write a forged "program ended" or keep the result waiting. The program's
// process, fresh or waiting for its launch, holds only its stdio when it runs.
TEST_F(BuiltAheadTest, TheProgramHoldsOnlyItsStdio) {
    ExecutionContext ctx = shell("ls /proc/$$/fd");  // the shell's, not ls's own directory fd
    for (bool ahead : {false, true}) {
        auto prepared = ahead ? prepare(ctx) : nullptr;
        ExecutionResult r = ahead ? provider_.execute_program(ctx, std::move(prepared))
                                  : provider_.execute_program(ctx);
        ASSERT_EQ(r.status, Status::Ok) << describe(r);
        EXPECT_EQ(r.metadata.stdout_data, "0\n1\n2\n") << (ahead ? "built ahead" : "fresh");
    }
}

// Red-team findings (2026-12-02), each the attack and what must hold.

// A sandbox fits only the settings (backend) that built it: not after cleanup() and
// initialize() with other settings, nor in another provider (which may sit at the same address).
TEST(BuiltAheadSettings, ASandboxFitsOnlyTheInitializationThatBuiltIt) {
    auto first = std::make_unique<ProcessProvider>();
    MICROVM_REQUIRE("process", first->availability().available, first->availability().reason);
    ASSERT_TRUE(first->initialize({{"max_open_files", 1000}}));
    ExecutionContext ctx = shell("ulimit -n");
    auto prepared = first->prepare(ctx);
    ASSERT_TRUE(prepared) << prepared.error().message;
    auto again = first->prepare(ctx);
    ASSERT_TRUE(again) << again.error().message;
    first->cleanup();
    ASSERT_TRUE(first->initialize({{"max_open_files", 64}}));
    EXPECT_FALSE(first->fits(**prepared, ctx)) << "a sandbox of the old settings fits";
    ExecutionResult r = first->execute_program(ctx, std::move(*prepared));  // runs fresh
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data, "64\n");

    first->cleanup();
    first.reset();
    auto next = std::make_unique<ProcessProvider>();
    ASSERT_TRUE(next->initialize({{"max_open_files", 64}}));
    EXPECT_FALSE(next->fits(**again, ctx)) << "another provider's sandbox fits";
    ExecutionResult n = next->execute_program(ctx, std::move(*again));
    EXPECT_EQ(n.metadata.stdout_data, "64\n") << describe(n);
    next->cleanup();
}

// The thread that prepared a sandbox ended (its init got the parent-death signal): it is
// expired and does not fit; the execution runs fresh instead of failing.
TEST_F(BuiltAheadTest, ASandboxWhoseInitEndedIsExpired) {
    ExecutionContext ctx = shell("echo ran");
    std::unique_ptr<PreparedSandbox> prepared;
    std::thread([&] {
        auto p = provider_.prepare(ctx);
        if (p) prepared = std::move(*p);
    }).join();
    ASSERT_TRUE(prepared);
    for (int i = 0; i < 100 && !prepared->expired(); ++i) std::this_thread::sleep_for(20ms);
    EXPECT_TRUE(prepared->expired());
    EXPECT_FALSE(provider_.fits(*prepared, ctx));
    ExecutionResult r = provider_.execute_program(ctx, std::move(prepared));
    EXPECT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data, "ran\n");
}

// The program was replaced on the host after the preparation (an update, by rename): the
// prepared sandbox, which binds the old file, is expired; the execution runs the new one.
TEST_F(BuiltAheadTest, ASandboxWhoseProgramWasReplacedIsExpired) {
    const testsupport::HostDir scratch("built-ahead");
    const std::filesystem::path& dir = scratch.path();
    std::filesystem::permissions(dir, std::filesystem::perms(0755));  // as a directory made here was
    auto write_script = [&](const std::filesystem::path& p, const std::string& text) {
        std::ofstream(p) << "#!/bin/sh\necho " << text << "\n";
        std::filesystem::permissions(p, std::filesystem::perms(0755));
    };
    const std::filesystem::path prog = dir / "prog";
    write_script(prog, "old-vulnerable");
    ExecutionContext ctx;
    ctx.program = ExternalProgram{prog.string(), {}};
    ctx.config.timeout = 20s;  // fs none: the program's own files are bound
    auto prepared = prepare(ctx);
    ASSERT_TRUE(prepared);
    EXPECT_FALSE(prepared->expired());
    write_script(dir / "prog.new", "patched");
    std::filesystem::rename(dir / "prog.new", prog);  // how package managers replace files
    EXPECT_TRUE(prepared->expired());
    EXPECT_FALSE(provider_.fits(*prepared, ctx));
    ExecutionResult r = provider_.execute_program(ctx, std::move(prepared));
    EXPECT_EQ(r.metadata.stdout_data, "patched\n") << describe(r);
}

// The init reads what the host sends; it still takes only well-formed messages.
TEST(LaunchMessage, RoundTripsAndRefusesMalformedOnes) {
    auto send = [](const std::string& bytes, bool close_after = true) {
        int pair[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
        EXPECT_EQ(::write(pair[0], bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
        if (close_after) ::close(pair[0]);
        process::LaunchArgs args;
        process::LaunchRead read = process::read_launch(pair[1], args);
        ::close(pair[1]);
        if (!close_after) ::close(pair[0]);
        return std::pair{read, args};
    };
    auto good = process::encode_launch({"/bin/x", "a", ""}, {"K=V"});
    ASSERT_TRUE(good);
    auto [read, args] = send(*good);
    ASSERT_EQ(read, process::LaunchRead::kOk);
    EXPECT_STREQ(args.argv[0], "/bin/x");
    EXPECT_STREQ(args.argv[1], "a");
    EXPECT_STREQ(args.argv[2], "");
    EXPECT_EQ(args.argv[3], nullptr);
    EXPECT_STREQ(args.envp[0], "K=V");
    EXPECT_EQ(args.envp[1], nullptr);

    auto no_env = process::encode_launch({"/bin/x"}, {});
    ASSERT_TRUE(no_env);
    auto [read2, args2] = send(*no_env);
    ASSERT_EQ(read2, process::LaunchRead::kOk);
    EXPECT_EQ(args2.argv[1], nullptr);
    EXPECT_EQ(args2.envp[0], nullptr);

    EXPECT_EQ(send("").first, process::LaunchRead::kClosed);
    EXPECT_EQ(send(good->substr(0, 10)).first, process::LaunchRead::kMalformed);       // short header
    EXPECT_EQ(send(good->substr(0, good->size() - 1)).first, process::LaunchRead::kMalformed);  // short body
    std::string bad_magic = *good;
    bad_magic[0] ^= 1;
    EXPECT_EQ(send(bad_magic).first, process::LaunchRead::kMalformed);
    std::string extra_string = *good;  // one string more than the header counts
    extra_string += std::string("extra", 6);
    auto* header = reinterpret_cast<process::LaunchHeader*>(extra_string.data());
    header->bytes += 6;
    EXPECT_EQ(send(extra_string).first, process::LaunchRead::kMalformed);
    std::string unterminated = *good;
    unterminated.back() = 'x';
    EXPECT_EQ(send(unterminated).first, process::LaunchRead::kMalformed);
    process::LaunchHeader huge{process::kLaunchMagic, 1, 0, uint32_t(process::kMaxLaunchBytes + 1)};
    EXPECT_EQ(send(std::string(reinterpret_cast<const char*>(&huge), sizeof huge)).first,
              process::LaunchRead::kMalformed);
    process::LaunchHeader no_argv{process::kLaunchMagic, 0, 1, 2};
    EXPECT_EQ(send(std::string(reinterpret_cast<const char*>(&no_argv), sizeof no_argv) + "x").first,
              process::LaunchRead::kMalformed);

    EXPECT_FALSE(process::encode_launch({}, {}));
    EXPECT_FALSE(process::encode_launch({std::string("a\0b", 3)}, {}));
    EXPECT_FALSE(process::encode_launch({std::string(process::kMaxLaunchBytes, 'x')}, {}));
}

}  // namespace
}  // namespace microvm
