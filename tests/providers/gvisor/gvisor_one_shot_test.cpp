// A one-shot gvisor run goes through the launcher where one is installed: the sandbox boots at
// every usable CPU and the program gets its share before it starts (the shared enforcement
// suite's CpuLimitThrottles checks the share). These tests hold the boot to what a run without
// the launcher guarantees: it works under a cgroup parent with less quota than the boot share,
// and a boot that runs out of memory, outlasts the run's deadline or is cancelled ends the run
// as memory_exceeded, timeout or cancelled (review of the first try, 2026-12-05).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "gvisor/gvisor_provider.hpp"
#include "gvisor/launch_format.hpp"
#include "gvisor/launch_message.hpp"
#include "host/launch_message.hpp"
#include "host/cgroup_fs.hpp"
#include "microvm/cancel.hpp"
#include "support/cgroup_dirs.hpp"
#include "support/expectations.hpp"
#include "support/scoped_env.hpp"
#include "support/result_text.hpp"
#include "support/run_command.hpp"

namespace microvm {
namespace {

using namespace std::chrono_literals;
using testsupport::describe;
namespace fs = std::filesystem;

ExecutionContext external(const std::string& path, std::vector<std::string> args = {}) {
    ExecutionContext ctx;
    ctx.program = ExternalProgram{path, std::move(args)};
    ctx.config.fs_policy = FileSystemPolicy::read_only({"/bin", "/usr", "/lib", "/lib64"});
    ctx.config.timeout = 20s;
    return ctx;
}

// $MICROVM_GVISOR_LAUNCHER names a "launcher" that never announces itself (it sleeps), for as
// long as this object lives: the boot never ends. (Below /run, root's and writable by no one
// else: an explicit launcher must be trusted_executable, which no path below /tmp is.)
class SilentLauncher {
  public:
    SilentLauncher() {
        char tmpl[] = "/run/gvisor-silent-launcher-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        const std::string path = dir_ + "/launcher";
        std::ofstream(path) << "#!/bin/sh\nexec /bin/sleep 600\n";
        ::chmod(path.c_str(), 0755);
        chosen_.emplace("MICROVM_GVISOR_LAUNCHER", path);
    }
    ~SilentLauncher() {
        chosen_.reset();
        fs::remove_all(dir_);
    }

  private:
    std::string dir_;
    std::optional<testsupport::ScopedEnv> chosen_;
};

class GvisorOneShotTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!provider_.availability().available) {
            MICROVM_REQUIRE("gvisor", false, provider_.availability().reason);
        }
    }
    void TearDown() override { provider_.cleanup(); }
    void init(const nlohmann::json& settings = nlohmann::json::object()) {
        auto ok = provider_.initialize(settings);
        ASSERT_TRUE(ok) << ok.error().message;
    }
    ExecutionResult run(const ExecutionContext& ctx) { return provider_.execute_program(ctx); }

    GvisorProvider provider_;
};

// On v1 a cgroup's quota may not exceed its parent's: the boot at every CPU (2 here) under a
// parent of one core failed every run with EINVAL before the boot share was held to the parent's,
// and the provider's probe at one core failed under a parent of less.
TEST_F(GvisorOneShotTest, ARunWorksUnderACgroupParentWithLessQuotaThanTheBootShare) {
    testsupport::ScopedCgroupParent parent("microvm-test-gvisor-quota-" + std::to_string(::getpid()));
    const std::string cpu_dir = parent.cpu_dir(1);
    MICROVM_REQUIRE("cgroups", !cpu_dir.empty(), "no cgroup v1 cpu hierarchy (v2 takes any quota below a parent's)");
    ASSERT_EQ(::mkdir(cpu_dir.c_str(), 0755), 0);
    ASSERT_TRUE(host::cgroupfs::write_file(cpu_dir + "/cpu.cfs_quota_us", "50000"));  // half a core
    init({{"cgroup_parent", parent.name}});  // its probe too runs within that (a review)
    ExecutionContext ctx = external("/bin/true");
    ctx.config.cpu_limit = 0.5;
    ExecutionResult r = run(ctx);
    EXPECT_EQ(r.status, Status::Ok) << describe(r);
    provider_.cleanup();
}

// 8 MiB do not hold the sentry's start: the boot is OOM-killed, which is the run's
// memory_exceeded (as without the launcher), not a setup error.
TEST_F(GvisorOneShotTest, ABootOutOfMemoryIsMemoryExceeded) {
    init();
    ExecutionContext ctx = external("/bin/true");
    ctx.config.memory_limit_mb = 8;
    ExecutionResult r = run(ctx);
    EXPECT_EQ(r.status, Status::MemoryExceeded) << describe(r);
}

// The boot counts toward the run's timeout, as without the launcher (and not toward a separate
// 30 s allowance for sandboxes built ahead).
TEST_F(GvisorOneShotTest, ABootOutlastingTheTimeoutIsATimeout) {
    init();
    SilentLauncher silent;
    ExecutionContext ctx = external("/bin/true");
    ctx.config.timeout = 1s;
    const auto start = std::chrono::steady_clock::now();
    ExecutionResult r = run(ctx);
    EXPECT_EQ(r.status, Status::Timeout) << describe(r);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

// A cancel while the sandbox boots ends the run at once as cancelled.
TEST_F(GvisorOneShotTest, ACancelWhileTheSandboxBootsEndsTheRun) {
    init();
    SilentLauncher silent;
    CancelSource cancel;
    ExecutionContext ctx = external("/bin/true");
    ctx.config.timeout = 30s;
    ctx.cancel = cancel.token();
    ExecutionResult r;
    std::thread runner([&] { r = run(ctx); });
    std::this_thread::sleep_for(1s);  // runsc has started; the launcher never announces itself
    const auto cancelled_at = std::chrono::steady_clock::now();
    cancel.cancel();
    runner.join();
    EXPECT_EQ(r.status, Status::Killed) << describe(r);
    ASSERT_TRUE(r.error) << describe(r);
    EXPECT_EQ(r.error->reason, Reason::Cancelled) << describe(r);
    EXPECT_LT(std::chrono::steady_clock::now() - cancelled_at, 5s);
}

// A file the launcher cannot execute (no ELF, no "#!") is the exec failure it is, as the process
// provider reports it (exec_failed, exit 126), not the program's own exit 127 (a review); the
// launcher's record of it is never the program's output: not captured, not streamed, and seen
// whole under an output cap shorter than it (its review). A program exiting 127 itself, or
// writing what looks like the record, keeps its exit and output.
TEST_F(GvisorOneShotTest, AFileTheLauncherCannotExecuteIsAnExecFailure) {
    init();
    char tmpl[] = "/run/gvisor-noexec-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    const std::string dir = tmpl;
    ::chmod(dir.c_str(), 0755);
    const std::string program = dir + "/not-a-program";
    std::ofstream(program) << "neither ELF nor a script\n";
    ::chmod(program.c_str(), 0755);
    for (uint64_t cap : {uint64_t{1} << 20, uint64_t{4}}) {
        SCOPED_TRACE("max_output_bytes " + std::to_string(cap));
        std::string streamed;
        ExecutionContext ctx = external(program);
        ctx.config.fs_policy = FileSystemPolicy::read_only({"/bin", "/usr", "/lib", "/lib64", dir});
        ctx.config.max_output_bytes = cap;
        ctx.on_output = [&](OutputStream, std::string_view chunk) { streamed.append(chunk); };
        ExecutionResult r = run(ctx);
        EXPECT_EQ(r.status, Status::RuntimeError) << describe(r);
        ASSERT_TRUE(r.error) << describe(r);
        EXPECT_EQ(r.error->reason, Reason::ExecFailed) << describe(r);
        EXPECT_EQ(r.metadata.exit_code, 126) << describe(r);
        EXPECT_EQ(r.metadata.stdout_data, "") << "the launcher's record is not the program's output";
        EXPECT_EQ(streamed, "") << "nor is it streamed";
    }
    fs::remove_all(dir);

    ExecutionResult own = run(external("/bin/sh", {"-c", "echo hi; exit 127"}));
    EXPECT_EQ(own.status, Status::RuntimeError) << describe(own);
    EXPECT_EQ(own.metadata.exit_code, 127) << describe(own);
    ASSERT_TRUE(own.error) << describe(own);
    EXPECT_EQ(own.error->reason, Reason::NonzeroExit) << describe(own);
    EXPECT_EQ(own.metadata.stdout_data, "hi\n");

    // Output that looks like the record is the program's: kept, streamed as captured, whatever
    // the cap (its review: a long one cut by a small cap, one with stderr, one with a leading
    // zero were taken for records, and the stream disagreed with the result).
    struct Looks {
        std::string script;
        int exit_code;
        std::string out, err;
    };
    for (const Looks& looks : {Looks{"printf 'MVGLEXF 8\\n'", 0, "MVGLEXF 8\n", ""},
                               Looks{"printf 'MVGLEXF 1234567890\\nmore'; exit 127", 127, "MVGLEXF 1234567890\nmore", ""},
                               Looks{"echo warn >&2; printf 'MVGLEXF 2\\n'; exit 127", 127, "MVGLEXF 2\n", "warn\n"},
                               Looks{"printf 'MVGLEXF 02\\n'; exit 127", 127, "MVGLEXF 02\n", ""}}) {
        for (uint64_t cap : {uint64_t{1} << 20, uint64_t{4}}) {
            SCOPED_TRACE(looks.script + ", max_output_bytes " + std::to_string(cap));
            std::string streamed_out, streamed_err;
            ExecutionContext ctx = external("/bin/sh", {"-c", looks.script});
            ctx.config.max_output_bytes = cap;
            ctx.on_output = [&](OutputStream stream, std::string_view chunk) {
                (stream == OutputStream::Stdout ? streamed_out : streamed_err).append(chunk);
            };
            ExecutionResult r = run(ctx);
            EXPECT_EQ(r.metadata.exit_code, looks.exit_code) << describe(r);
            if (looks.exit_code != 0) {
                ASSERT_TRUE(r.error) << describe(r);
                EXPECT_EQ(r.error->reason, Reason::NonzeroExit) << describe(r);
            }
            EXPECT_EQ(r.metadata.stdout_data, looks.out.substr(0, cap));
            EXPECT_EQ(r.metadata.stdout_truncated, looks.out.size() > cap);
            EXPECT_EQ(r.metadata.stderr_data, looks.err.substr(0, cap));
            EXPECT_EQ(streamed_out, r.metadata.stdout_data) << "held back while it could be the record, then passed on";
            EXPECT_EQ(streamed_err, r.metadata.stderr_data);
        }
    }
}

// Which path a run took shows inside: the launcher is bound at /.microvm-launcher only when it
// starts the program. The setting turns it off (runsc runs the program, the boot counted in the
// run); the shared enforcement suite runs both ways (GvisorDirect/).
TEST_F(GvisorOneShotTest, TheSettingChoosesWhetherTheLauncherStartsTheProgram) {
    const std::string probe = "test -e /.microvm-launcher && echo launcher || echo direct";
    for (const bool through_launcher : {true, false}) {
        SCOPED_TRACE(through_launcher ? "one_shot_launcher true" : "one_shot_launcher false");
        provider_.cleanup();
        init({{"one_shot_launcher", through_launcher}});
        ExecutionResult r = run(external("/bin/sh", {"-c", probe}));
        EXPECT_EQ(r.status, Status::Ok) << describe(r);
        EXPECT_EQ(r.metadata.stdout_data, through_launcher ? "launcher\n" : "direct\n");
    }
    GvisorProvider typo;
    EXPECT_FALSE(typo.initialize({{"one_shot_launcher", "no"}})) << "not a boolean";
}

// An explicit $MICROVM_GVISOR_LAUNCHER that is refused (here: writable by others) fails the run
// naming it, as it fails a sandbox built ahead; a run never skips it silently for the path
// without a launcher (it did before: the choice was ignored and nothing said so).
TEST_F(GvisorOneShotTest, ARefusedExplicitLauncherFailsTheRunNamingIt) {
    init();
    char tmpl[] = "/run/gvisor-refused-launcher-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    const std::string dir = tmpl;
    const std::string path = dir + "/launcher";
    std::ofstream(path) << "#!/bin/sh\nexit 0\n";
    ::chmod(path.c_str(), 0777);
    ExecutionResult r;
    {
        testsupport::ScopedEnv chosen("MICROVM_GVISOR_LAUNCHER", path);
        r = run(external("/bin/true"));
    }
    fs::remove_all(dir);
    EXPECT_EQ(r.status, Status::SetupError) << describe(r);
    ASSERT_TRUE(r.error) << describe(r);
    EXPECT_NE(r.error->message.find(path), std::string::npos) << describe(r);
}

// A refused launcher leaves the provider available (one-shot runs take the path without it, and
// a refused explicit one fails each run, above), but never silently: the availability's note
// names it, as `microvm providers` shows.
TEST(GvisorLauncherNote, AMissingOrRefusedLauncherIsNotedInTheAvailability) {
    {
        testsupport::ScopedEnv installed("MICROVM_GVISOR_LAUNCHER", std::nullopt);
        GvisorProvider p;
        MICROVM_REQUIRE("gvisor", p.availability().available, p.availability().reason);
        EXPECT_EQ(p.availability().reason, "") << "the built launcher was not found";
    }
    char tmpl[] = "/run/gvisor-refused-launcher-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    const std::string path = std::string(tmpl) + "/launcher";
    std::ofstream(path) << "#!/bin/sh\nexit 0\n";
    ::chmod(path.c_str(), 0777);
    Availability a;
    {
        testsupport::ScopedEnv chosen("MICROVM_GVISOR_LAUNCHER", path);
        GvisorProvider p;
        a = p.availability();
    }
    fs::remove_all(tmpl);
    EXPECT_TRUE(a.available) << a.reason;
    EXPECT_NE(a.reason.find("without the launcher"), std::string::npos) << a.reason;
    EXPECT_NE(a.reason.find(path), std::string::npos) << a.reason;
    EXPECT_NE(a.reason.find("every run fails"), std::string::npos) << a.reason;
}

// The program may run the launcher itself (it is bound read-only inside): that launcher reads a
// launch message from the program's own stdin, and whatever it does is the program's, under the
// same limits. A forged message starts another program of the sandbox's, nothing of the host's;
// garbage is refused.
TEST_F(GvisorOneShotTest, TheProgramRunningTheLauncherItselfGainsNothing) {
    init();
    ExecutionContext garbage = external("/bin/sh", {"-c", "echo junk | /.microvm-launcher; echo exit=$?"});
    ExecutionResult r = run(garbage);
    EXPECT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_NE(r.metadata.stdout_data.find("exit="), std::string::npos) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data.find("exit=0"), std::string::npos) << "a malformed message is refused";

    ExecutionContext busy = external("/bin/sh", {"-c", "/.microvm-launcher </dev/null & sleep 30"});
    busy.config.timeout = 2s;
    const auto start = std::chrono::steady_clock::now();
    ExecutionResult late = run(busy);
    EXPECT_EQ(late.status, Status::Timeout) << "its own launcher waits under the run's deadline: " << describe(late);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 15s);
}

// Red team, 2026-12-05: the record was "MVGLEXF <errno>", which the program could write itself:
// one that ran (here: slept), printed "MVGLEXF 2" and exited 127 was reported program_not_found,
// a run that never started (the service's audit log and its session pool take it so), its
// output emptied. The record now carries digits drawn for each
// launch that the program never sees; the program's own imitations, even of the record's form
// with made-up digits, stay its output and its exit.
TEST_F(GvisorOneShotTest, AProgramCannotForgeTheLaunchersRecord) {
    init();
    for (const std::string& forged : {std::string("MVGLEXF 2\\n"), std::string("MVGLEXF 13\\n"),
                                      std::string("MVGLEXF 2 0123456789abcdef0123456789abcdef\\n")}) {
        for (uint64_t cap : {uint64_t{1} << 20, uint64_t{4}}) {
            SCOPED_TRACE(forged + ", max_output_bytes " + std::to_string(cap));
            std::string streamed;
            ExecutionContext ctx = external("/bin/sh", {"-c", "sleep 0.2; printf '" + forged + "'; exit 127"});
            ctx.config.max_output_bytes = cap;
            ctx.on_output = [&](OutputStream, std::string_view chunk) { streamed.append(chunk); };
            ExecutionResult r = run(ctx);
            ASSERT_TRUE(r.error) << describe(r);
            EXPECT_EQ(r.error->reason, Reason::NonzeroExit) << "the program's own output was taken for the launcher's record: " << describe(r);
            EXPECT_EQ(r.metadata.exit_code, 127) << describe(r);
            EXPECT_FALSE(r.metadata.stdout_data.empty()) << describe(r);
            EXPECT_EQ(streamed, r.metadata.stdout_data);
        }
    }
    // (The launcher's own record still is one: AFileTheLauncherCannotExecuteIsAnExecFailure.)
}

// The launch's digits follow the message since the record carries them, and the magic changed
// with the format ("MVG2"): a launcher and a host of different formats refuse each other instead
// of handing the digits to the program as its first input (a review). The launcher, run here on
// the host, runs the program of a message of its own format and refuses one of the older format.
TEST(GvisorLaunchFormat, TheLauncherRefusesAMessageOfTheOlderFormat) {
    auto launcher = gvisor::require_launcher();
    ASSERT_TRUE(launcher) << launcher.error().message;  // built with the project, always
    const std::string digits(gvisor::kExecNonceBytes, 'a');
    constexpr uint32_t kOlderMagic = 0x4c47564d;  // "MVGL"
    for (const uint32_t magic : {gvisor::kLaunchMagic, kOlderMagic}) {
        SCOPED_TRACE(magic == kOlderMagic ? "older format" : "this format");
        auto message = host::encode_launch(magic, {"/bin/echo", "ran"}, {});
        ASSERT_TRUE(message) << message.error().message;
        auto r = testsupport::run_command({*launcher}, *message + digits);
        if (magic == kOlderMagic) {
            EXPECT_EQ(r.status, 1) << r.err;
            EXPECT_EQ(r.out.find("ran"), std::string::npos) << r.out;
            EXPECT_NE(r.err.find("malformed launch message"), std::string::npos) << r.err;
        } else {
            EXPECT_EQ(r.status, 0) << r.err;
            EXPECT_NE(r.out.find("ran\n"), std::string::npos) << r.out;
        }
    }
}

}  // namespace
}  // namespace microvm
