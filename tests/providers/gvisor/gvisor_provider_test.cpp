// gvisor provider specifics beyond the shared enforcement suite: the user-space kernel, the
// platform probe, what the sentry grants, the fs policies that name "/", the settings, cleanup
// after timeouts, the host dying, and stale state of crashed hosts.
#include "gvisor/gvisor_provider.hpp"

#include <glob.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "gvisor/state_dir.hpp"
#include "host_probes.hpp"
#include "microvm/guest_protocol.hpp"
#include "host/cgroup_fs.hpp"
#include "support/host_memory_mounts.hpp"
#include "support/result_text.hpp"
#include "support/cgroup_dirs.hpp"
#include "support/expectations.hpp"
#include "support/host_files.hpp"

extern char** environ;

namespace enforcement {
std::string helper(const std::string& name);  // the shared suite's C helpers
}

namespace microvm {
namespace {

using testsupport::describe;
using testsupport::read_file;

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using testsupport::glob_paths;

ExecutionContext external(const std::string& path, std::vector<std::string> args = {}) {
    ExecutionContext ctx;
    ctx.program = ExternalProgram{path, std::move(args)};
    ctx.config.timeout = 20s;
    return ctx;
}

// This process's gvisor state directories under /run.
std::vector<std::string> own_state_dirs() {
    return glob_paths("/run/" + std::string(gvisor::kNamePrefix) + std::to_string(::getpid()) +
                      ".*");
}

// Cgroup directories (any hierarchy) named after the gvisor executions of host pid.
std::vector<std::string> cgroups_of(pid_t host) {
    return testsupport::cgroups_named(std::string(gvisor::kNamePrefix) + std::to_string(host) + ".");
}

class GvisorProviderTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!provider_.availability().available) {
            MICROVM_REQUIRE("gvisor", false, provider_.availability().reason);
        }
        auto ok = provider_.initialize();
        ASSERT_TRUE(ok) << ok.error().message;
    }
    void TearDown() override {
        provider_.cleanup();
        for (const std::string& d : dirs_) fs::remove_all(d);
    }
    ExecutionResult run(const ExecutionContext& ctx) { return provider_.execute_program(ctx); }
    // base: /tmp, or /var/tmp for policies that give the sandbox a private /tmp.
    std::string make_host_dir(const std::string& base = "/tmp") {
        std::string tmpl = base + "/gvisor-test-XXXXXX";
        const char* dir = ::mkdtemp(tmpl.data());
        EXPECT_NE(dir, nullptr);
        ::chmod(dir, 0777);
        dirs_.emplace_back(dir);
        return dir;
    }

    GvisorProvider provider_;
    std::vector<std::string> dirs_;
};

TEST_F(GvisorProviderTest, ProgramsRunOnGvisorsKernelNotTheHosts) {
    ExecutionResult r = run(external("/bin/uname", {"-r"}));
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    struct utsname host {};
    ASSERT_EQ(::uname(&host), 0);
    EXPECT_NE(r.metadata.stdout_data, std::string(host.release) + "\n");
    EXPECT_FALSE(r.metadata.stdout_data.empty());
    EXPECT_EQ(r.metadata.isolation, Isolation::Container);
}

TEST_F(GvisorProviderTest, ThePlatformWasProbedAndIsNeverKvm) {
    std::string platform = provider_.platform();
    EXPECT_TRUE(platform == "ptrace" || platform == "systrap") << platform;
}

TEST_F(GvisorProviderTest, TheSentryGrantsNoPrivileges) {
    ExecutionResult r = run(external(PRIVILEGES_HELPER));
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    const std::string& out = r.metadata.stdout_data;
    EXPECT_NE(out.find("no_new_privs 1\n"), std::string::npos) << out;
    EXPECT_NE(out.find("cap_effective 0000000000000000\n"), std::string::npos) << out;
    EXPECT_NE(out.find("cap_permitted 0000000000000000\n"), std::string::npos) << out;
    EXPECT_NE(out.find("cap_ambient_raise "), std::string::npos) << out;
    EXPECT_EQ(out.find("cap_ambient_raise OK"), std::string::npos) << out;
}

TEST_F(GvisorProviderTest, AConfiguredHomeIsKept) {
    ExecutionContext ctx = external("/usr/bin/env");
    ctx.config.env_vars = {{"HOME", "/work"}};
    ExecutionResult r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_NE(r.metadata.stdout_data.find("HOME=/work\n"), std::string::npos);
    EXPECT_EQ(r.metadata.stdout_data.find("HOME=/\n"), std::string::npos);
}

// The sandbox writes a file at the path of a directory this test made with mkdtemp in the host's
// /tmp (the sandbox has no mkdir to make one inside it; no one else can make, replace or remove
// that path, unlike a name beside it, which anyone listing /tmp could plant first): in a private
// /tmp the path is free and the file is written and read back; in the host's the write fails on
// the directory, which stays empty.
TEST_F(GvisorProviderTest, TmpIsPrivateToTheSandbox) {
    const testsupport::HostDir host_side("gvisor-private-tmp");
    const std::string probe = host_side.path().string();
    ExecutionResult r = run(external("/bin/sh", {"-c", "echo x > " + probe + " && read v < " + probe + " && echo $v"}));
    EXPECT_TRUE(fs::is_directory(host_side.path()) && fs::is_empty(host_side.path()));
    ASSERT_EQ(r.status, Status::Ok) << "the sandbox's /tmp is the host's? " << describe(r);
    EXPECT_EQ(r.metadata.stdout_data, "x\n");
}

TEST_F(GvisorProviderTest, FsReadOnlySystemDirsAreReadOnly) {
    std::string dir = make_host_dir("/var/tmp");
    ExecutionContext ctx =
        external("/bin/sh", {"-c",
                             "cat /etc/hostname /etc/passwd > /dev/null && echo read; "
                             "echo x > " +
                                 dir + "/new"});
    std::vector<std::string> paths = microvm::standard_system_dirs();
    paths.push_back(dir);
    ctx.config.fs_policy = FileSystemPolicy::read_only(paths);
    ExecutionResult r = run(ctx);
    EXPECT_EQ(r.status, Status::RuntimeError) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data, "read\n");
    EXPECT_NE(r.metadata.stderr_data.find("Read-only file system"), std::string::npos)
        << describe(r);
    EXPECT_FALSE(fs::exists(dir + "/new"));
}

// Real or refused: a writable path the sandbox's user cannot write is refused up front, naming
// it, rather than failing inside.
TEST_F(GvisorProviderTest, ReadWritePathsTheSandboxCannotWriteAreRefused) {
    std::string dir = make_host_dir();
    ::chmod(dir.c_str(), 0700);
    ExecutionContext ctx = external("/bin/sh", {"-c", "echo x > " + dir + "/new"});
    ctx.config.fs_policy = FileSystemPolicy::read_write({dir});
    ExecutionResult r = run(ctx);
    EXPECT_EQ(r.status, Status::PolicyViolation) << describe(r);
    ASSERT_TRUE(r.error);
    EXPECT_NE(r.error->message.find("'" + dir + "' is not writable by the sandbox's user 65534"),
              std::string::npos)
        << r.error->message;
    EXPECT_FALSE(fs::exists(dir + "/new"));
}

TEST_F(GvisorProviderTest, FsFullReadsAndWritesTheHostTree) {
    // Not below /tmp: where that is a tmpfs of mode 1777, Full gives the sandbox its own.
    std::string dir = make_host_dir("/var/tmp");
    ExecutionContext ctx = external("/bin/sh", {"-c", "cat /etc/hostname > " + dir + "/copy"});
    ctx.config.fs_policy = FileSystemPolicy::full();
    ExecutionResult r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(read_file(dir + "/copy"), read_file("/etc/hostname"));
}

// The attack (red team, 2026-12-06, hosts whose /tmp or /run/lock is a tmpfs of mode 1777):
// under Full the program wrote into the host's others-writable tmpfs mounts, RAM left after the
// run, owned by nobody, that no limit counted. Full gives such a mount a tmpfs of the sentry's
// (charged to the run), and makes the host's other memory file systems read-only: their
// others-writable directories (here: open/ in a tmpfs of mode 0755) took files just as well.
TEST_F(GvisorProviderTest, FsFullLeavesNothingInTheHostsMemoryFileSystems) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "mounting a tmpfs on the host needs root");
    // Removed by TearDown, after the provider's cleanup: until then the staged copy of /tmp
    // holds a copy of each mount, and the directories are busy.
    const std::string shared = make_host_dir("/var/tmp"), closed = make_host_dir("/var/tmp");
    const testsupport::HostMemoryMounts mounts(shared, closed);
    ASSERT_TRUE(mounts.mounted());
    ExecutionContext ctx = external("/bin/sh", {"-c", mounts.script()});
    ctx.config.fs_policy = FileSystemPolicy::full();
    mounts.expect_nothing_left(run(ctx));
}

// The same host, a program kept in the 1777 tmpfs: inside it would be missing (the sentry's
// instance there is empty), so the run is refused up front, naming the mount.
TEST_F(GvisorProviderTest, FsFullRefusesAProgramInAHostMemoryFileSystemItReplaces) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "mounting a tmpfs on the host needs root");
    const std::string shared = make_host_dir("/var/tmp"), closed = make_host_dir("/var/tmp");
    const testsupport::HostMemoryMounts mounts(shared, closed);
    ASSERT_TRUE(mounts.mounted());
    ExecutionContext ctx = external(mounts.program_inside());
    ctx.config.fs_policy = FileSystemPolicy::full();
    mounts.expect_refused_naming_the_mount(run(ctx));
}

TEST_F(GvisorProviderTest, TimeoutsLeaveNoContainerStateOrBundle) {
    ExecutionContext ctx = external("/bin/sleep", {"10"});
    ctx.config.timeout = 400ms;
    ExecutionResult r = run(ctx);
    ASSERT_EQ(r.status, Status::Timeout) << describe(r);
    EXPECT_EQ(r.metadata.signal, SIGKILL);
    std::vector<std::string> dirs = own_state_dirs();
    ASSERT_EQ(dirs.size(), 1u);
    // Torn down right after the result (host::DeferredTeardown): gone within moments.
    EXPECT_TRUE(enforcement::eventually([&] { return fs::is_empty(dirs[0] + "/state"); }));
    EXPECT_TRUE(enforcement::eventually([&] { return fs::is_empty(dirs[0] + "/bundles"); }));
    EXPECT_TRUE(enforcement::eventually([&] { return cgroups_of(::getpid()).empty(); }));
}

// A fork bomb under a process limit of 32: gVisor refuses the bomb's forks past the limit, but
// on the ptrace platform the sentry's host tasks keep growing with 32 busy forkers (measured:
// ~800 after 1 s, ~1,800 after 6 s; with 4 or 8 forkers they level off at ~120 and ~270, under
// the budget) until the host's cap on the sandbox's cgroup (host_task_budget) stops the sentry. That end is reported as the process limit, not as the
// sentry's own exit code 2 passed off as the program's, and the host is left clean.
TEST_F(GvisorProviderTest, AForkBombThatExhaustsTheHostTaskBudgetIsReportedAsTheProcessLimit) {
    ExecutionContext ctx = external(enforcement::helper("fork_bomb"));
    ctx.config.max_processes = 32;
    ctx.config.timeout = 20s;
    ExecutionResult r = run(ctx);
    ASSERT_TRUE(r.error) << describe(r);
    EXPECT_EQ(r.error->reason, Reason::ProcessLimit) << describe(r);
    EXPECT_EQ(r.status, Status::Killed);
    EXPECT_EQ(r.metadata.signal, SIGKILL);
    EXPECT_LT(r.metadata.duration, 15s);
    EXPECT_TRUE(enforcement::eventually([&] { return cgroups_of(::getpid()).empty(); }));
}

TEST_F(GvisorProviderTest, CleanupRemovesThePrivateStateDirectory) {
    ASSERT_EQ(run(external("/bin/true")).status, Status::Ok);
    EXPECT_EQ(own_state_dirs().size(), 1u);
    provider_.cleanup();
    EXPECT_TRUE(own_state_dirs().empty());
}

TEST_F(GvisorProviderTest, RtfsErrorsMapThroughTheSharedStatusTable) {
    MICROVM_REQUIRE("guest-runner", guest::find_guest_runner(), "not built");
    ExecutionContext ctx;
    ctx.program = RtfsSource{"(println \"from the guest\") (+ 40 2)"};
    ctx.runtime_context = rtfs::RuntimeContext::full();
    ExecutionResult r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.value, "42");
    EXPECT_EQ(r.metadata.stdout_data, "from the guest\n");

    ctx.program = RtfsSource{"(+ 1"};
    r = run(ctx);
    EXPECT_EQ(r.status, status_for_rtfs_error(r.error ? r.error->kind : "")) << describe(r);
    EXPECT_EQ(r.status, Status::InvalidInput) << describe(r);
}

// --- settings ------------------------------------------------------------------------------------

TEST(GvisorProviderSettingsTest, KvmAndUnknownSettingsAreRefused) {
    GvisorProvider p;
    MICROVM_REQUIRE("gvisor", p.availability().available, p.availability().reason);
    auto kvm = p.initialize({{"platform", "kvm"}});
    ASSERT_FALSE(kvm);
    EXPECT_EQ(kvm.error().kind, Failure::Kind::InvalidConfig);
    auto unknown = p.initialize({{"no_such_setting", 1}});
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().kind, Failure::Kind::InvalidConfig);
}

TEST(GvisorProviderSettingsTest, AMissingRunscOrStateDirIsASetupError) {
    GvisorProvider p;
    MICROVM_REQUIRE("gvisor", p.availability().available, p.availability().reason);
    auto runsc = p.initialize({{"runsc", "/nonexistent/runsc"}});
    ASSERT_FALSE(runsc);
    EXPECT_NE(runsc.error().message.find("runsc '/nonexistent/runsc'"), std::string::npos)
        << runsc.error().message;
    auto state = p.initialize({{"state_dir", "/run/microvm-nonexistent/state"}});
    ASSERT_FALSE(state);
    EXPECT_NE(state.error().message.find("/run/microvm-nonexistent/state"), std::string::npos)
        << state.error().message;
}

// The attack (red team, 2026-12-04) on the VM providers' state holds here too: a state_dir
// named only in this configuration is unknown to a run with other settings, which may grant a
// sandbox rw= over it (the bundles and runsc's state live there). Only /run, or a directory
// where every run protects state by name, is accepted; nothing is made in a refused one.
TEST(GvisorProviderSettingsTest, AStateDirOutsideTheProtectedPlacesIsRefused) {
    GvisorProvider p;
    MICROVM_REQUIRE("gvisor", p.availability().available, p.availability().reason);
    std::string base = "/run/gvisor-place-XXXXXX";  // root's, 0755: every owner check passes
    ASSERT_NE(::mkdtemp(base.data()), nullptr);
    ::chmod(base.c_str(), 0755);
    auto ok = p.initialize({{"state_dir", base}});
    ASSERT_FALSE(ok) << "state_dir " << base << " was accepted";
    EXPECT_EQ(ok.error().kind, microvm::Failure::Kind::SetupError);
    EXPECT_NE(ok.error().message.find("setting state_dir '" + base + "'"), std::string::npos)
        << ok.error().message;
    EXPECT_TRUE(std::filesystem::is_empty(base)) << "something was made in the refused state_dir";
    std::filesystem::remove_all(base);
}

TEST(GvisorProviderSettingsTest, AnExplicitPlatformIsUsed) {
    GvisorProvider p;
    MICROVM_REQUIRE("gvisor", p.availability().available, p.availability().reason);
    ASSERT_TRUE(p.initialize({{"platform", "ptrace"}, {"max_open_files", 64}}));
    EXPECT_EQ(p.platform(), "ptrace");
    ExecutionResult r = p.execute_program(external("/bin/sh", {"-c", "ulimit -n"}));
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data, "64\n");
    p.cleanup();
}

// initialize() probes first (availability()): the runtime the probe created with the default
// settings is the one the provider then runs with, not created a second time (a state directory,
// cgroup detection and the probe record on every one-shot run); with other settings it is let go.
TEST(GvisorProviderSettingsTest, TheDefaultSettingsRunWithTheProbesRuntime) {
    const std::string own = "/run/" + std::string(gvisor::kNamePrefix) + std::to_string(::getpid()) + ".*";
    const size_t before = testsupport::glob_paths(own).size();
    GvisorProvider p;
    MICROVM_REQUIRE("gvisor", p.availability().available, p.availability().reason);
    const std::vector<std::string> probed = testsupport::glob_paths(own);
    ASSERT_EQ(probed.size(), before + 1) << "the probe's state directory";
    ASSERT_TRUE(p.initialize(nlohmann::json::object()));
    EXPECT_EQ(testsupport::glob_paths(own), probed) << "a second runtime was created";
    ExecutionResult r = p.execute_program(external("/bin/true", {}));
    EXPECT_EQ(r.status, Status::Ok) << describe(r);
    p.cleanup();
    EXPECT_EQ(testsupport::glob_paths(own).size(), before);

    GvisorProvider q;
    ASSERT_TRUE(q.availability().available);
    ASSERT_EQ(testsupport::glob_paths(own).size(), before + 1);
    ASSERT_TRUE(q.initialize({{"max_open_files", 64}}));
    EXPECT_EQ(testsupport::glob_paths(own).size(), before + 1) << "the probe's runtime was kept";
    q.cleanup();
}

// --- the host dying ------------------------------------------------------------------------------

TEST(GvisorHostDeathTest, SandboxesDieWithTheirHostAndStaleStateIsSwept) {
    GvisorProvider probe;
    MICROVM_REQUIRE("gvisor", probe.availability().available, probe.availability().reason);
    pid_t host = 0;
    std::string helper = GVISOR_HOST_HELPER;
    char* argv[] = {helper.data(), nullptr};
    ASSERT_EQ(::posix_spawn(&host, helper.c_str(), nullptr, nullptr, argv, environ), 0);
    enforcement::KilledOnExit host_guard(host);
    const std::string marker = std::string(gvisor::kNamePrefix) + std::to_string(host) + ".";

    // The sentry of the host's sandbox (named after the host's pid) is up: the host's own, not
    // one an earlier process of the same pid left dying.
    ASSERT_TRUE(enforcement::eventually([&] {
        for (int pid : enforcement::processes_with_marker(marker)) {
            if (read_file("/proc/" + std::to_string(pid) + "/cmdline")
                    .starts_with("runsc-sandbox") &&
                enforcement::descends_from(pid, host)) {
                return true;
            }
        }
        return false;
    })) << "the sandbox never started";
    std::this_thread::sleep_for(300ms);
    host_guard.kill_now();
    EXPECT_TRUE(enforcement::eventually([&] { return enforcement::processes_with_marker(marker).empty(); }))
        << "the sandbox outlived its host";

    // Its state directory and cgroup stay until a provider initializes and sweeps them.
    auto stale_dirs = [&] { return glob_paths("/run/" + marker + "*"); };
    EXPECT_FALSE(stale_dirs().empty());
    EXPECT_FALSE(cgroups_of(host).empty());
    GvisorProvider next;
    ASSERT_TRUE(next.availability().available);  // probing changes nothing
    EXPECT_FALSE(stale_dirs().empty());
    EXPECT_FALSE(cgroups_of(host).empty());
    ASSERT_TRUE(next.initialize());
    EXPECT_TRUE(stale_dirs().empty());
    EXPECT_TRUE(cgroups_of(host).empty());
    next.cleanup();
}

// Allow/block lists are refused up front with the reason (issue 12): this runsc offers no way to
// make a host proxy the sandbox's only way out (--host-uds=open would open every host socket the
// mounts show). The run must not start: no sandbox, so no way to a network.
TEST_F(GvisorProviderTest, HostListsAreRefusedWithTheReason) {
    for (NetworkPolicy policy : {NetworkPolicy::allow({"allowed.test"}), NetworkPolicy::deny({"other.test"})}) {
        ExecutionContext ctx;
        ctx.program = ExternalProgram{"/bin/true", {}};
        ctx.config.network_policy = policy;
        ExecutionResult r = provider_.execute_program(ctx);
        EXPECT_EQ(r.status, Status::PolicyViolation);
        ASSERT_TRUE(r.error);
        EXPECT_EQ(r.error->message,
                  "provider 'gvisor' cannot enforce network_policy " + policy.to_string() +
                      ": the egress proxy cannot be made gVisor's only way out with this runsc: "
                      "with --network=none a host proxy is reachable only through "
                      "--host-uds=open, which lets the program connect to every host Unix socket "
                      "its mounts expose; use the process provider for allow/block lists, or deny "
                      "or full");
        EXPECT_TRUE(r.metadata.network_requests.empty());
    }
}

// The abstract Unix socket names bound in this process's network namespace (the host's).
std::vector<std::string> abstract_socket_names() {
    std::vector<std::string> names;
    std::istringstream table(read_file("/proc/net/unix"));
    std::string line;
    while (std::getline(table, line)) {
        const size_t at = line.find(" @");
        if (at != std::string::npos) names.push_back(line.substr(at + 1));
    }
    return names;
}

// runsc serves a sandbox's control requests (exec as any uid, processes, checkpoint, destroy) on
// the abstract socket "@runsc-sandbox.<id>" of the network namespace runsc starts in, to whoever
// connects. Started in the host's, any local user found it in /proc/net/unix and ran a shell as
// root in root's sandbox, reading an ro= bind only root may read and writing into the run's
// stdout; binding the names first failed every run (red team, 2026-12-05). Under both network
// policies runsc now starts in a namespace of its own: no such name is ever in the host's.
TEST_F(GvisorProviderTest, NoControlSocketOfASandboxIsInTheHostsNetworkNamespace) {
    const std::string ours = "@runsc-sandbox.microvm-gvisor-" + std::to_string(::getpid()) + ".";
    for (NetworkPolicy policy : {NetworkPolicy::denied(), NetworkPolicy::full()}) {
        SCOPED_TRACE(policy.to_string());
        ExecutionContext ctx;
        ctx.program = ExternalProgram{"/bin/sleep", {"2"}};
        ctx.config.network_policy = policy;
        ctx.config.timeout = 20s;
        ExecutionResult r;
        std::atomic<bool> done{false};
        std::thread run([&] {
            r = provider_.execute_program(ctx);
            done = true;
        });
        std::vector<std::string> seen;
        int looked = 0;
        while (!done) {
            for (const std::string& name : abstract_socket_names())
                if (name.starts_with(ours)) seen.push_back(name);
            ++looked;
            std::this_thread::sleep_for(20ms);
        }
        run.join();
        ASSERT_EQ(r.status, Status::Ok) << describe(r);
        EXPECT_GT(looked, 20);
        EXPECT_TRUE(seen.empty()) << seen.front() << " is reachable from the host's network namespace";
    }
}

}  // namespace
}  // namespace microvm
