// gvisor sandboxes built ahead (Provider::prepare, Runtime::prepare): the launch's arguments and
// environment are the ones the program gets, a sandbox is used once, one destroyed unused leaves
// nothing behind, and the execution is measured and timed from its launch, not from the
// preparation. (The shared enforcement suite runs every check again in sandboxes built ahead:
// gvisor_enforcement_test.cpp; its RTFS checks send the job on stdin after the launch message.)
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <glob.h>
#include <thread>

#include "gvisor/gvisor_provider.hpp"
#include "gvisor/launch_message.hpp"
#include "gvisor/runtime.hpp"
#include "gvisor/state_dir.hpp"
#include "host/cgroup_fs.hpp"
#include "host_probes.hpp"
#include "support/cgroup_dirs.hpp"
#include "support/expectations.hpp"
#include "support/host_files.hpp"
#include "support/result_text.hpp"

namespace microvm {
namespace {

using namespace std::chrono_literals;
using testsupport::describe;
namespace fs = std::filesystem;
using testsupport::HostDir;
using testsupport::write_file;
using testsupport::glob_paths;

ExecutionContext external(const std::string& path, std::vector<std::string> args = {}) {
    ExecutionContext ctx;
    ctx.program = ExternalProgram{path, std::move(args)};
    ctx.config.timeout = 20s;
    return ctx;
}

// What this process's gvisor executions hold on the host: processes (runsc, gofer, sentry,
// stubs) and cgroups named after it, runsc state and bundles in its state directories.
struct Holdings {
    size_t processes = 0;
    size_t cgroups = 0;
    size_t state_entries = 0;
    size_t bundles = 0;
};

std::vector<std::string> own_state_dirs() {
    return glob_paths("/run/" + std::string(gvisor::kNamePrefix) + std::to_string(::getpid()) +
                      ".*");
}

Holdings holdings() {
    Holdings h;
    const std::string marker = std::string(gvisor::kNamePrefix) + std::to_string(::getpid()) + ".";
    h.processes = enforcement::processes_with_marker(marker).size();
    h.cgroups = testsupport::cgroups_named(marker).size();
    for (const std::string& dir : own_state_dirs()) {
        for (const auto& e : fs::directory_iterator(dir + "/state")) (void)e, ++h.state_entries;
        for (const auto& e : fs::directory_iterator(dir + "/bundles")) (void)e, ++h.bundles;
    }
    return h;
}

class GvisorBuiltAheadTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!provider_.availability().available) {
            MICROVM_REQUIRE("gvisor", false, provider_.availability().reason);
        }
        auto ok = provider_.initialize();
        ASSERT_TRUE(ok) << ok.error().message;
    }
    void TearDown() override { provider_.cleanup(); }

    // ctx run in a sandbox built ahead for `shape`.
    ExecutionResult run_built_ahead(const ExecutionContext& shape, const ExecutionContext& ctx) {
        auto prepared = provider_.prepare(shape);
        EXPECT_TRUE(prepared) << prepared.error().message;
        if (!prepared) return {};
        EXPECT_TRUE(provider_.fits(**prepared, ctx));
        return provider_.execute_program(ctx, std::move(*prepared));
    }

    GvisorProvider provider_;
};

TEST_F(GvisorBuiltAheadTest, TheLaunchsArgumentsAndEnvironmentAreTheProgramsNotTheShapes) {
    ExecutionContext shape = external("/bin/sh", {"-c", "echo shape", "shape0"});
    shape.config.env_vars = {{"FROM", "shape"}, {"SHAPE_ONLY", "1"}};
    // Builtins only: the default fs policy gives the sandbox nothing but the program.
    ExecutionContext ctx =
        external("/bin/sh", {"-c", "echo \"$0 $1 $FROM pid=$$\"; export -p", "zero", "one"});
    ctx.config.env_vars = {{"FROM", "launch"}, {"LAUNCH_ONLY", "1"}};
    ExecutionResult r = run_built_ahead(shape, ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    // The program replaced the launcher: the container's first process, as in a fresh run.
    EXPECT_TRUE(r.metadata.stdout_data.starts_with("zero one launch pid=1\n"))
        << r.metadata.stdout_data;
    EXPECT_NE(r.metadata.stdout_data.find("LAUNCH_ONLY"), std::string::npos);
    EXPECT_EQ(r.metadata.stdout_data.find("SHAPE_ONLY"), std::string::npos);
    EXPECT_EQ(r.metadata.stdout_data.find("shape"), std::string::npos);
}

TEST_F(GvisorBuiltAheadTest, AnUnusedSandboxTornDownLeavesNoProcessStateOrCgroup) {
    const Holdings before = holdings();
    ASSERT_EQ(before.processes, 0u);
    {
        auto prepared = provider_.prepare(external("/bin/true"));
        ASSERT_TRUE(prepared) << prepared.error().message;
        // It is up and waiting: runsc run, gofer and sentry, its container, cgroup and bundle.
        const Holdings up = holdings();
        EXPECT_GE(up.processes, 3u);
        EXPECT_GE(up.cgroups, 1u);
        EXPECT_GT(up.state_entries, before.state_entries);
        EXPECT_EQ(up.bundles, 1u + before.bundles);
    }
    const Holdings after = holdings();
    EXPECT_EQ(after.processes, 0u);
    EXPECT_EQ(after.cgroups, before.cgroups);
    EXPECT_EQ(after.state_entries, before.state_entries);
    EXPECT_EQ(after.bundles, before.bundles);
}

// A warm pool's entry may outlive the provider's cleanup(): it owns what it holds, and takes the
// provider's private state directory with it when it goes.
TEST_F(GvisorBuiltAheadTest, ASandboxOutlivingItsProviderStillTearsDownCompletely) {
    auto prepared = provider_.prepare(external("/bin/true"));
    ASSERT_TRUE(prepared) << prepared.error().message;
    provider_.cleanup();
    EXPECT_GE(holdings().processes, 3u);
    prepared->reset();
    const Holdings after = holdings();
    EXPECT_EQ(after.processes, 0u);
    EXPECT_EQ(after.cgroups, 0u);
    EXPECT_TRUE(own_state_dirs().empty());
}

TEST_F(GvisorBuiltAheadTest, ASandboxIsUsedOnce) {
    auto runtime = gvisor::Runtime::create({});
    ASSERT_TRUE(runtime) << runtime.error().message;
    host::SandboxRequest req;
    req.program = "/bin/echo";
    req.argv = {"/bin/echo", "first"};
    req.env = {"PATH=/usr/bin:/bin"};
    auto prepared = (*runtime)->prepare(req);
    ASSERT_TRUE(prepared) << prepared.error().message;
    auto first = (*prepared)->launch(req);
    ASSERT_TRUE(first) << first.error().message;
    EXPECT_EQ(first->stdout_data.data, "first\n");
    req.argv = {"/bin/echo", "second"};
    auto second = (*prepared)->launch(req);
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().message.find("already used"), std::string::npos);
    EXPECT_EQ(holdings().processes, 0u);
}

TEST_F(GvisorBuiltAheadTest, ARequestOfAnotherShapeIsRefusedAndTheSandboxStaysUnused) {
    auto runtime = gvisor::Runtime::create({});
    ASSERT_TRUE(runtime) << runtime.error().message;
    host::SandboxRequest shape;
    shape.program = "/bin/echo";
    shape.argv = {"/bin/echo", "x"};
    auto prepared = (*runtime)->prepare(shape);
    ASSERT_TRUE(prepared) << prepared.error().message;
    host::SandboxRequest other = shape;
    other.limits.memory_bytes *= 2;
    auto refused = (*prepared)->launch(other);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("shape"), std::string::npos);
    auto used = (*prepared)->launch(shape);
    ASSERT_TRUE(used) << used.error().message;
    EXPECT_EQ(used->stdout_data.data, "x\n");
}

// The sandbox waited 1.5 s before its launch: neither the duration nor the deadline count that.
TEST_F(GvisorBuiltAheadTest, DurationAndDeadlineRunFromTheLaunch) {
    auto prepared = provider_.prepare(external("/bin/sleep", {"10"}));
    ASSERT_TRUE(prepared) << prepared.error().message;
    std::this_thread::sleep_for(1500ms);
    ExecutionContext ctx = external("/bin/sleep", {"10"});
    ctx.config.timeout = 2s;
    ExecutionResult r = provider_.execute_program(ctx, std::move(*prepared));
    ASSERT_EQ(r.status, Status::Timeout) << describe(r);
    EXPECT_GE(r.metadata.duration, 2s);
    EXPECT_LT(r.metadata.duration, 3s);

    prepared = provider_.prepare(external("/bin/true"));
    ASSERT_TRUE(prepared) << prepared.error().message;
    std::this_thread::sleep_for(1500ms);
    r = provider_.execute_program(external("/bin/true"), std::move(*prepared));
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_LT(r.metadata.duration, 1500ms);
}

// A shell reading one line of each bound file (builtins only: nothing but /bin/sh is bound).
ExecutionContext reader_of(const fs::path& file, const fs::path& dir) {
    ExecutionContext ctx = external(
        "/bin/sh", {"-c", "read a < '" + file.string() + "'; read b < '" + (dir / "f").string() +
                              "'; echo \"$a $b\""});
    ctx.config.fs_policy = FileSystemPolicy::read_only({file.string(), dir.string()});
    return ctx;
}

// runsc's gofer binds the sources when the container is created and keeps what it bound: a file
// renamed over a bound one after the preparation would not reach the sandbox, which would run
// with the old one. It is expired instead: it does not fit, and the execution runs fresh with
// the new file.
TEST_F(GvisorBuiltAheadTest, ASandboxWhoseBoundFileWasReplacedIsExpired) {
    HostDir dir{"gvisor-built-ahead"};
    const fs::path file = dir.path() / "file";
    write_file(file, "old-file\n");
    fs::create_directory(dir.path() / "data");
    write_file(dir.path() / "data" / "f", "data\n");
    ExecutionContext ctx = reader_of(file, dir.path() / "data");
    auto prepared = provider_.prepare(ctx);
    ASSERT_TRUE(prepared) << prepared.error().message;
    EXPECT_FALSE((*prepared)->expired());
    EXPECT_TRUE(provider_.fits(**prepared, ctx));

    write_file(dir.path() / "file.new", "new-file\n");
    fs::rename(dir.path() / "file.new", file);  // how updates replace files
    EXPECT_TRUE((*prepared)->expired());
    EXPECT_FALSE(provider_.fits(**prepared, ctx));
    ExecutionResult r = provider_.execute_program(ctx, std::move(*prepared));
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data, "new-file data\n");
}

// A bound directory renamed away and another put in its place, or swapped for a symlink: the
// sandbox built ahead still shows the old directory; it is expired, and a fresh run binds the
// new one, or refuses the symlink as it refuses any policy path reached through one.
TEST_F(GvisorBuiltAheadTest, ASandboxWhoseBoundDirectoryWasReplacedIsExpired) {
    HostDir dir{"gvisor-built-ahead"};
    const fs::path file = dir.path() / "file";
    const fs::path data = dir.path() / "data";
    write_file(file, "file\n");
    fs::create_directory(data);
    write_file(data / "f", "old-dir\n");
    ExecutionContext ctx = reader_of(file, data);
    auto prepared = provider_.prepare(ctx);
    ASSERT_TRUE(prepared) << prepared.error().message;
    ASSERT_FALSE((*prepared)->expired());
    fs::rename(data, dir.path() / "data.old");
    fs::create_directory(data);
    write_file(data / "f", "new-dir\n");
    EXPECT_TRUE((*prepared)->expired());
    EXPECT_FALSE(provider_.fits(**prepared, ctx));
    ExecutionResult r = provider_.execute_program(ctx, std::move(*prepared));
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data, "file new-dir\n");

    prepared = provider_.prepare(ctx);
    ASSERT_TRUE(prepared) << prepared.error().message;
    ASSERT_FALSE((*prepared)->expired());
    fs::rename(data, dir.path() / "data.new");
    fs::create_directory_symlink(dir.path() / "data.old", data);
    EXPECT_TRUE((*prepared)->expired());
    EXPECT_FALSE(provider_.fits(**prepared, ctx));
    r = provider_.execute_program(ctx, std::move(*prepared));
    ASSERT_NE(r.status, Status::Ok) << describe(r);
    ASSERT_TRUE(r.error);
    EXPECT_NE(r.error->message.find("through a symlink"), std::string::npos) << describe(r);
}

// The program itself replaced after the preparation (fs none binds only it and its files).
TEST_F(GvisorBuiltAheadTest, ASandboxWhoseProgramWasReplacedIsExpired) {
    HostDir dir{"gvisor-built-ahead"};
    auto write_script = [](const fs::path& p, const std::string& text) {
        write_file(p, "#!/bin/sh\necho " + text + "\n");
        fs::permissions(p, fs::perms(0755));
    };
    const fs::path prog = dir.path() / "prog";
    write_script(prog, "old-vulnerable");
    ExecutionContext ctx = external(prog.string());
    auto prepared = provider_.prepare(ctx);
    ASSERT_TRUE(prepared) << prepared.error().message;
    EXPECT_FALSE((*prepared)->expired());
    write_script(dir.path() / "prog.new", "patched");
    fs::rename(dir.path() / "prog.new", prog);
    EXPECT_TRUE((*prepared)->expired());
    EXPECT_FALSE(provider_.fits(**prepared, ctx));
    ExecutionResult r = provider_.execute_program(ctx, std::move(*prepared));
    EXPECT_EQ(r.metadata.stdout_data, "patched\n") << describe(r);
}

// Through the C++ API, launch() itself refuses a sandbox one of whose sources was replaced (the
// caller then runs fresh); left alone, the sandbox would have run the old file.
TEST_F(GvisorBuiltAheadTest, ALaunchIntoASandboxWithAReplacedSourceIsRefused) {
    auto runtime = gvisor::Runtime::create({});
    ASSERT_TRUE(runtime) << runtime.error().message;
    HostDir dir{"gvisor-built-ahead"};
    const fs::path file = dir.path() / "file";
    write_file(file, "old-file\n");
    fs::create_directory(dir.path() / "data");
    write_file(dir.path() / "data" / "f", "data\n");
    host::SandboxRequest req;
    req.program = "/bin/sh";
    req.argv = {"/bin/sh", "-c", "read a < '" + file.string() + "'; echo \"$a\""};
    req.fs_policy = FileSystemPolicy::read_only({file.string(), (dir.path() / "data").string()});
    auto prepared = (*runtime)->prepare(req);
    ASSERT_TRUE(prepared) << prepared.error().message;
    EXPECT_TRUE((*prepared)->current());
    write_file(dir.path() / "file.new", "new-file\n");
    fs::rename(dir.path() / "file.new", file);
    EXPECT_FALSE((*prepared)->current());
    auto refused = (*prepared)->launch(req);
    ASSERT_FALSE(refused) << refused->stdout_data.data;
    EXPECT_NE(refused.error().message.find("replaced since it was built"), std::string::npos)
        << refused.error().message;
    auto fresh = (*runtime)->run(req);
    ASSERT_TRUE(fresh) << fresh.error().message;
    EXPECT_EQ(fresh->stdout_data.data, "new-file\n");
}

// The thread that prepared a sandbox ended: runsc run got its parent-death signal, the sandbox is
// expired and does not fit; the execution runs fresh.
TEST_F(GvisorBuiltAheadTest, ASandboxWhoseRunscEndedIsExpired) {
    ExecutionContext ctx = external("/bin/echo", {"ran"});
    std::unique_ptr<PreparedSandbox> prepared;
    std::thread([&] {
        auto p = provider_.prepare(ctx);
        if (p) prepared = std::move(*p);
    }).join();
    ASSERT_TRUE(prepared);
    for (int i = 0; i < 250 && !prepared->expired(); ++i) std::this_thread::sleep_for(20ms);
    EXPECT_TRUE(prepared->expired());
    EXPECT_FALSE(provider_.fits(*prepared, ctx));
    ExecutionResult r = provider_.execute_program(ctx, std::move(prepared));
    EXPECT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data, "ran\n");
}

// The launcher runs first in every container built ahead: one of this installation is trusted
// as the executable is (a clone under the sticky /tmp is fine), but a launcher another user owns
// or that others may write, which someone else could have swapped, is refused.
TEST(GvisorLauncherTrust, AnInstalledLauncherMustBeOursAndWritableByNoOneElse) {
    char tmpl[] = "/tmp/launcher-trust-XXXXXX";  // under the sticky, world-writable /tmp
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    const fs::path dir = tmpl;
    const fs::path launcher = dir / "microvm-gvisor-launcher";
    fs::copy_file("/bin/true", launcher);
    fs::permissions(launcher, fs::perms(0755));
    auto ok = gvisor::trust_installed_launcher(launcher.string());
    EXPECT_TRUE(ok) << ok.error().message;

    fs::permissions(launcher, fs::perms(0775));  // its group may write it
    auto group_writable = gvisor::trust_installed_launcher(launcher.string());
    ASSERT_FALSE(group_writable);
    EXPECT_NE(group_writable.error().message.find("writable by its group"), std::string::npos); // the reason
    fs::permissions(launcher, fs::perms(0757));  // anyone may write it
    EXPECT_FALSE(gvisor::trust_installed_launcher(launcher.string()));
    fs::permissions(launcher, fs::perms(0755));

    if (::geteuid() == 0) {  // another user's file
        ASSERT_EQ(::chown(launcher.c_str(), 12345, 12345), 0);
        EXPECT_FALSE(gvisor::trust_installed_launcher(launcher.string()));
        ASSERT_EQ(::chown(launcher.c_str(), 0, 0), 0);
    }
    fs::permissions(launcher, fs::perms(0644));  // not executable
    EXPECT_FALSE(gvisor::trust_installed_launcher(launcher.string()));
    fs::remove_all(dir);
}

// Red team, 2026-12-05: an installed microvm whose build tree was removed from below /tmp looks
// for the launcher at the build path, which any local user may then make. Their symlink there
// to any executable of root's (/usr/bin/cat: every gvisor run of root's timed out, the sandbox
// waiting on a "launcher" that never announced itself), or a file of root's in their directory,
// was taken: only the file was judged. Every entry on the way to a launcher found by searching
// must be root's or this user's; one of root's under the sticky /tmp still is fine.
TEST(GvisorLauncherTrust, ALauncherOnAPathAnotherUserMadeIsRefused) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "files of another user need root to make");
    char tmpl[] = "/tmp/launcher-path-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    const fs::path dir = tmpl;
    fs::permissions(dir, fs::perms(0755));
    const fs::path theirs = dir / "build" / "tools" / "gvisor-launcher";  // the build path, remade by them
    fs::create_directories(theirs);
    for (const fs::path& d : {dir / "build", dir / "build" / "tools", theirs}) {
        ASSERT_EQ(::chown(d.c_str(), 65534, 65534), 0);
    }
    const fs::path planted = theirs / "microvm-gvisor-launcher";
    fs::create_symlink("/bin/true", planted);  // any executable of root's
    ASSERT_EQ(::lchown(planted.c_str(), 65534, 65534), 0);
    auto linked = gvisor::trust_installed_launcher(planted.string());
    EXPECT_FALSE(linked) << "their symlink was taken: " << *linked;
    fs::remove(planted);
    fs::copy_file("/bin/true", planted);  // a file of root's in their directory
    fs::permissions(planted, fs::perms(0755));
    auto in_their_dir = gvisor::trust_installed_launcher(planted.string());
    EXPECT_FALSE(in_their_dir) << "a file in their directory was taken: " << *in_their_dir;
    if (!in_their_dir) {
        EXPECT_NE(in_their_dir.error().message.find("uid 65534"), std::string::npos) << in_their_dir.error().message;
    }

    // Ours, under the sticky /tmp: taken, as its real path.
    const fs::path ours = dir / "ours" / "microvm-gvisor-launcher";
    fs::create_directories(ours.parent_path());
    fs::copy_file("/bin/true", ours);
    fs::permissions(ours, fs::perms(0755));
    auto ok = gvisor::trust_installed_launcher(ours.string());
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(*ok, fs::canonical(ours).string());
    fs::remove_all(dir);
}

}  // namespace
}  // namespace microvm
