// The qemu provider against real VMs: results and errors, policy mapping (file system, network,
// environment), limits (memory, timeout, output caps), measured metadata, restored-state
// independence between runs, and no leftovers (QEMU processes, VM directories, cgroups) after
// many runs and after the host process is killed.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "host/guest_image.hpp"
#include "qemu/qemu_provider.hpp"
#include "qemu_fixture.hpp"
#include "qemu/qemu_vm.hpp"
#include "qemu_leaks.hpp"
#include "support/expectations.hpp"
#include "support/trusted_temp.hpp"

namespace {

using namespace std::chrono_literals;
using microvm::ExecutionContext;
using microvm::ExecutionResult;
using microvm::Reason;
using microvm::Status;
namespace fs = std::filesystem;

using qemutest::cgroups_of;
using qemutest::qemu_processes_of;
using qemutest::qemus_of;
using qemutest::vm_dirs_of;

class QemuTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        provider_ = qemutest::new_initialized_provider(available_, why_);
    }
    static void TearDownTestSuite() {
        provider_->cleanup();
        delete provider_;
        provider_ = nullptr;
    }
    void SetUp() override { MICROVM_REQUIRE("qemu", available_, why_); }
    void TearDown() override {
        for (const auto& d : dirs_) fs::remove_all(d);
    }

    static ExecutionContext sh(const std::string& script) {
        ExecutionContext ctx;
        ctx.program = microvm::ExternalProgram{"/bin/sh", {"-c", script}};
        ctx.config.timeout = 20s;
        return ctx;
    }
    ExecutionResult run(const ExecutionContext& ctx) { return provider_->execute_program(ctx); }
    std::string make_dir() {
        char tmpl[] = "/tmp/qemu-test-XXXXXX";
        std::string d = ::mkdtemp(tmpl);
        ::chmod(d.c_str(), 0777);  // QEMU's unprivileged uid may write here
        dirs_.push_back(d);
        return d;
    }

    static microvm::QemuProvider* provider_;
    static bool available_;
    static std::string why_;
    std::vector<std::string> dirs_;
};

microvm::QemuProvider* QemuTest::provider_ = nullptr;
bool QemuTest::available_ = false;
std::string QemuTest::why_;

// Its allow/block lists go through the egress proxy: the proxy's settings (the host's refused
// ranges above all) are the qemu provider's too, as they are process's, wasm's and mock's.
TEST(QemuSettings, IncludeTheEgressProxysSettings) {
    const nlohmann::json schema = microvm::QemuProvider().config_schema();
    for (const char* key : {"network_refused_ranges", "network_max_connections", "network_max_bytes_mb",
                            "network_idle_timeout_ms"}) {
        EXPECT_TRUE(schema["properties"].contains(key)) << key;
    }
}

TEST_F(QemuTest, RtfsResultWithMeasuredMetadata) {
    ExecutionContext ctx;
    ctx.program = microvm::RtfsSource{"(+ 1 2)"};
    auto r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << (r.error ? r.error->message : "");
    EXPECT_EQ(r.value, "3");
    EXPECT_EQ(r.metadata.isolation, microvm::Isolation::VM);
    // fs none, net deny: a fresh VM restored from the template snapshot.
    EXPECT_EQ(r.metadata.provider_details["start"], "restored") << r.metadata.provider_details["cold_boot_why"];
    EXPECT_TRUE(r.metadata.provider_details.count("restore_ms"));
    EXPECT_TRUE(r.metadata.provider_details["accel"] == "tcg" ||
                r.metadata.provider_details["accel"] == "kvm");
    EXPECT_GT(std::stoll(r.metadata.provider_details["vmm_cpu_ms"]), 0);  // QEMU's, from the host
    ASSERT_TRUE(r.metadata.cpu_time.has_value());                         // the program's, from the guest
    ASSERT_TRUE(r.metadata.memory_peak_mb.has_value());
    EXPECT_GT(*r.metadata.memory_peak_mb, 0.0);
    EXPECT_GT(r.metadata.duration, 0ns);
}

// The program's CPU time is its run cgroup's, in the guest: a process that left the tree (here
// a double-forked spinner, reparented to the agent) is counted too. wait4 alone saw only the
// shell and its sleep, a few milliseconds (red team, 2026-12-03: 88 ms against QEMU's 4.3 s).
TEST_F(QemuTest, CpuTimeCountsProcessesThatLeftTheTree) {
    auto r = run(sh("( while :; do :; done & ) ; sleep 1"));
    ASSERT_EQ(r.status, Status::Ok) << (r.error ? r.error->message : "") << r.metadata.stderr_data;
    ASSERT_TRUE(r.metadata.cpu_time.has_value());
    EXPECT_GE(*r.metadata.cpu_time, 500ms);  // the spinner had the vCPU for the shell's second
}

TEST_F(QemuTest, RtfsErrorIsReported) {
    ExecutionContext ctx;
    ctx.program = microvm::RtfsSource{"(/ 1 0)"};
    auto r = run(ctx);
    ASSERT_NE(r.status, Status::Ok);
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->reason, Reason::RtfsError) << r.error->message;
}

TEST_F(QemuTest, EnvironmentIsExactlyTheConfigs) {
    auto ctx = sh("env | sort");
    ctx.config.env_vars = {{"FOO", "bar baz"}};
    ::setenv("QEMU_TEST_HOST_SECRET", "leak", 1);
    auto r = run(ctx);
    ::unsetenv("QEMU_TEST_HOST_SECRET");
    ASSERT_EQ(r.status, Status::Ok) << (r.error ? r.error->message : "") << r.metadata.stderr_data;
    // Exactly: the shell adds PWD and SHLVL itself; nothing of the host's or the agent's (the
    // kernel gives init HOME=/ and TERM=linux) arrives.
    EXPECT_EQ(r.metadata.stdout_data,
              "FOO=bar baz\nPATH=/usr/local/bin:/usr/bin:/bin\nPWD=/\nSHLVL=1\n");
}

TEST_F(QemuTest, FsNoneSeesOnlyTheImageAndNetDenyOnlyLoopback) {
    std::string secret = make_dir();
    std::ofstream(secret + "/secret") << "host data";
    auto r = run(sh("test -e " + secret + " && echo VISIBLE; ls /sys/class/net; grep -c 9p /proc/mounts"));
    ASSERT_EQ(r.error ? r.error->reason : Reason::NonzeroExit, Reason::NonzeroExit)
        << (r.error ? r.error->message : "");
    EXPECT_EQ(r.metadata.stdout_data.find("VISIBLE"), std::string::npos);
    EXPECT_EQ(r.metadata.stdout_data, "lo\n0\n");  // no eth0 (no network device), no share
}

TEST_F(QemuTest, FsReadOnlyShareIsReadableNotWritableAndNothingElseShows) {
    std::string shared = make_dir();
    std::string sibling = make_dir();
    std::ofstream(shared + "/in.txt") << "from the host";
    auto ctx = sh("cat " + shared + "/in.txt; echo; (echo x > " + shared +
                  "/new) 2>/dev/null && echo WROTE; test -e " + sibling + " && echo SIBLING; true");
    ctx.config.fs_policy = microvm::FileSystemPolicy::read_only({shared});
    auto r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << (r.error ? r.error->message : "") << r.metadata.stderr_data;
    EXPECT_EQ(r.metadata.stdout_data, "from the host\n");
    // A share is a 9p device the template does not have: this VM boots cold and says why.
    EXPECT_EQ(r.metadata.provider_details["start"], "cold_boot");
    EXPECT_NE(r.metadata.provider_details["cold_boot_why"].find("9p"), std::string::npos);
    EXPECT_FALSE(fs::exists(shared + "/new"));
}

// Writes reach the host; a setuid or setgid file cannot be planted there (the program in the guest
// asks QEMU's 9p server to chmod or create one: its seccomp filter refuses the mode bits).
TEST_F(QemuTest, FsReadWriteShareWritesReachTheHost) {
    std::string shared = make_dir();
    auto ctx = sh("echo written > " + shared + "/out.txt && cat " + shared + "/out.txt && "
                  "cp /bin/busybox " + shared + "/sh; "
                  "chmod 4755 " + shared + "/sh && echo SETUID; chmod 2755 " + shared + "/sh && echo SETGID; "
                  "mkdir " + shared + "/d; chmod 2777 " + shared + "/d && echo DIRSETGID; "
                  "chmod 0700 " + shared + "/sh && echo PLAIN");
    ctx.config.fs_policy = microvm::FileSystemPolicy::read_write({shared});
    auto r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << (r.error ? r.error->message : "") << r.metadata.stderr_data;
    std::ifstream in(shared + "/out.txt");
    std::string got;
    std::getline(in, got);
    EXPECT_EQ(got, "written");
    EXPECT_FALSE((r.metadata.stdout_data.find("SETUID") != std::string::npos)) << r.metadata.stdout_data;
    EXPECT_FALSE((r.metadata.stdout_data.find("SETGID") != std::string::npos)) << r.metadata.stdout_data;
    EXPECT_FALSE((r.metadata.stdout_data.find("DIRSETGID") != std::string::npos)) << r.metadata.stdout_data;
    EXPECT_TRUE((r.metadata.stdout_data.find("PLAIN") != std::string::npos)) << r.metadata.stdout_data;  // other chmods work
    struct stat st {};
    ASSERT_EQ(::stat((shared + "/sh").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    ASSERT_EQ(::stat((shared + "/d").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & (S_ISUID | S_ISGID), 0u);
}

// The red team (2026-12-05, second stop): a guest wrote a 1.3 GB file through an rw= share, where
// the process providers stop a program at max_file_size_mb (1 GiB by default). QEMU, which
// writes the share's files on the host, is capped now: with max_file_size_mb 1 a 2 MiB write
// fails at 1 MiB (EFBIG in the guest), while the default lets it through.
TEST_F(QemuTest, AFileWrittenThroughAShareStopsAtMaxFileSize) {
    std::string shared = make_dir();
    auto ctx = sh("dd if=/dev/zero of=" + shared + "/big bs=64k count=32 2>&1; echo rc=$?");
    ctx.config.fs_policy = microvm::FileSystemPolicy::read_write({shared});
    microvm::QemuProvider capped;
    auto ok = capped.initialize({{"max_file_size_mb", 1}});
    ASSERT_TRUE(ok) << ok.error().message;
    auto r = capped.execute_program(ctx);
    capped.cleanup();
    ASSERT_EQ(r.status, Status::Ok) << (r.error ? r.error->message : "") << r.metadata.stderr_data;
    EXPECT_EQ(fs::file_size(shared + "/big"), 1u << 20) << r.metadata.stdout_data;
    EXPECT_NE(r.metadata.stdout_data.find("File too large"), std::string::npos) << r.metadata.stdout_data;
    EXPECT_EQ(r.metadata.stdout_data.find("rc=0"), std::string::npos) << r.metadata.stdout_data;

    fs::remove(shared + "/big");
    auto uncapped = run(ctx);
    ASSERT_EQ(uncapped.status, Status::Ok) << (uncapped.error ? uncapped.error->message : "");
    EXPECT_EQ(fs::file_size(shared + "/big"), 2u << 20) << uncapped.metadata.stdout_data;
}

// A review of that fix: QEMU's child set the limit after dropping its uid, so a host whose own
// hard limit was lower (`ulimit -f`, a unit's LimitFSIZE=) failed every run with EPERM. The
// host's limit is the cap then, as for the process providers.
TEST_F(QemuTest, AHostsLowerFileSizeLimitCapsTheShareInstead) {
    std::string shared = make_dir();
    auto ctx = sh("dd if=/dev/zero of=" + shared + "/big bs=64k count=64 2>&1; echo rc=$?");
    ctx.config.fs_policy = microvm::FileSystemPolicy::read_write({shared});
    // In a child: a hard limit, once lowered, cannot be raised again without CAP_SYS_RESOURCE,
    // which root lacks on some hosts (this one's bounding set).
    int report[2];
    ASSERT_EQ(::pipe2(report, O_CLOEXEC), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        const rlimit low{3u << 20, 3u << 20};
        ::signal(SIGXFSZ, SIG_IGN);  // this process writes nothing that large
        std::string out = "limit not lowered";
        if (::setrlimit(RLIMIT_FSIZE, &low) == 0) {
            microvm::QemuProvider p;  // the default max_file_size_mb: 1024
            auto ok = p.initialize(nlohmann::json::object());
            auto r = ok ? p.execute_program(ctx) : ExecutionResult{};
            p.cleanup();
            out = !ok ? ok.error().message
                      : r.status == Status::Ok ? "ok\n" + r.metadata.stdout_data
                                               : "not ok: " + (r.error ? r.error->message : "") + r.metadata.stderr_data;
        }
        [[maybe_unused]] ssize_t n = ::write(report[1], out.data(), out.size());
        ::_exit(0);
    }
    ::close(report[1]);
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(report[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
    ::close(report[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(out.starts_with("ok\n")) << out;
    EXPECT_EQ(fs::file_size(shared + "/big"), 3u << 20) << out;
    EXPECT_NE(out.find("File too large"), std::string::npos) << out;
}

// The enforcement suite's NoExtendedAttributeTheHostActsOnIsPlanted, through a 9p share: QEMU's
// server runs as an unprivileged uid, so a default POSIX ACL or a file capability asked for by
// the guest never reaches the host's files (user.* attributes do, and act on nothing).
TEST_F(QemuTest, NoExtendedAttributeTheHostActsOnIsPlantedThroughAShare) {
    std::string shared = make_dir();
    fs::copy_file(QEMU_XATTR_PLANT, shared + "/xattr_plant");
    auto ctx = sh(shared + "/xattr_plant " + shared);
    ctx.config.fs_policy = microvm::FileSystemPolicy::read_write({shared});
    auto r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << (r.error ? r.error->message : "") << r.metadata.stderr_data;
    EXPECT_NE(r.metadata.stdout_data.find("capability "), std::string::npos) << "the planter did not run";
    for (const char* what : {"acl set", "capability set", "trusted set"}) {
        EXPECT_EQ(r.metadata.stdout_data.find(what), std::string::npos) << r.metadata.stdout_data;
    }
    char names[4096];
    const ssize_t n = ::listxattr(shared.c_str(), names, sizeof names);
    ASSERT_GE(n, 0);
    EXPECT_EQ(std::string(names, static_cast<size_t>(n)).find("system.posix_acl_default"), std::string::npos);
    char value[64];
    EXPECT_LT(::getxattr((shared + "/capfile").c_str(), "security.capability", value, sizeof value), 0)
        << "a file capability reached the host";
    std::ofstream(shared + "/host-made") << "x";
    struct stat st {};
    ASSERT_EQ(::stat((shared + "/host-made").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0022, 0u) << "a file the host made is writable by others";
}

TEST_F(QemuTest, PoliciesItCannotEnforceAreRefused) {
    auto full = sh("true");
    full.config.fs_policy = microvm::FileSystemPolicy::full();
    auto r = run(full);
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->reason, Reason::PolicyRefused);

    std::string dir = make_dir();
    ::chmod(dir.c_str(), 0700);  // root's only: QEMU's uid could not serve it
    auto closed = sh("true");
    closed.config.fs_policy = microvm::FileSystemPolicy::read_only({dir});
    r = run(closed);
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->reason, Reason::PolicyRefused) << r.error->message;

    // Trusted state is never shared writable (on a user's host QEMU writes as the user, whose
    // records would trust what the guest planted; red team, 2026-12-03).
    auto state = sh("true");
    state.config.fs_policy = microvm::FileSystemPolicy::read_write({"/run/microvm"});
    r = run(state);
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->reason, Reason::PolicyRefused) << r.error->message;
    EXPECT_NE(r.error->message.find("trusted state"), std::string::npos) << r.error->message;
}

// QEMU opens a share's root by path and follows symlinks, so share paths get the checks every
// provider's bind sources get. The attack (red team, 2026-12-03): a guest plants `p -> /proc`
// through a rw share (QEMU's 9p makes a real host symlink); a later run naming DIR/p read the
// host's processes. /sys and /dev/shm were shared when named outright; and a read-only share
// inside a writable one was read-only only by the guest kernel's mount.
TEST_F(QemuTest, SharePathsAreCheckedAsEveryProvidersBindSourcesAre) {
    const std::string dir = make_dir();
    fs::create_directory_symlink("/proc", dir + "/p");  // what the earlier guest left
    fs::create_directory(dir + "/keep");
    ::chmod((dir + "/keep").c_str(), 0777);
    auto refused = [&](const microvm::FileSystemPolicy& policy, const std::string& why) {
        auto ctx = sh("true");
        ctx.config.fs_policy = policy;
        auto r = run(ctx);
        ASSERT_TRUE(r.error.has_value()) << why;
        EXPECT_EQ(r.error->reason, Reason::PolicyRefused) << why << ": " << r.error->message;
        EXPECT_NE(r.error->message.find("fs_policy"), std::string::npos) << r.error->message;
    };
    refused(microvm::FileSystemPolicy::read_only({dir + "/p"}), "a planted symlink to /proc");
    refused(microvm::FileSystemPolicy::read_only({"/sys/kernel"}), "/sys/kernel");
    refused(microvm::FileSystemPolicy::read_write({"/dev/shm"}), "/dev/shm");
    refused(microvm::FileSystemPolicy::read_write({dir}, {dir + "/keep"}),
            "read-only inside writable");
    // The same directory without the planted link still runs.
    auto ok = sh("ls " + dir + "/keep >/dev/null && echo fine");
    ok.config.fs_policy = microvm::FileSystemPolicy::read_only({dir + "/keep"});
    auto r = run(ok);
    ASSERT_FALSE(r.error.has_value()) << r.error->message;
    EXPECT_EQ(r.metadata.stdout_data, "fine\n");
}

// Each share is a virtio device of the microvm machine (8 transports, 2 taken by the agent's
// port and the RNG, one more by a network device): more directories than fit, or one directory
// named twice, are refused up front naming fs_policy (red team K: 7 shares passed the checks and
// QEMU then failed to start, a setup error). Six fit, and run.
TEST_F(QemuTest, SharesBeyondTheMachinesDevicesOrNamedTwiceAreRefused) {
    std::vector<std::string> dirs;
    for (int i = 0; i < 7; ++i) dirs.push_back(make_dir());
    auto refused = [&](microvm::ExecutionContext ctx, const std::string& why) {
        auto r = run(ctx);
        ASSERT_TRUE(r.error.has_value()) << why;
        EXPECT_EQ(r.error->reason, Reason::PolicyRefused) << why << ": " << r.error->message;
        EXPECT_NE(r.error->message.find("fs_policy"), std::string::npos) << r.error->message;
    };
    auto seven = sh("true");
    seven.config.fs_policy = microvm::FileSystemPolicy::read_only(dirs);
    refused(seven, "seven shares");
    auto six_and_net = sh("true");
    six_and_net.config.fs_policy = microvm::FileSystemPolicy::read_only({dirs.begin(), dirs.begin() + 6});
    six_and_net.config.network_policy = microvm::NetworkPolicy::full();
    refused(six_and_net, "six shares and a network device");
    auto twice = sh("true");
    twice.config.fs_policy = microvm::FileSystemPolicy::read_only({dirs[0], dirs[0] + "/"});
    refused(twice, "one directory twice");
    auto six = sh("ls " + dirs[5] + " >/dev/null && echo fine");
    six.config.fs_policy = microvm::FileSystemPolicy::read_only({dirs.begin(), dirs.begin() + 6});
    auto r = run(six);
    ASSERT_FALSE(r.error.has_value()) << r.error->message;
    EXPECT_EQ(r.metadata.stdout_data, "fine\n");
}

TEST_F(QemuTest, MemoryLimitEndsTheProgramAsMemoryExceeded) {
    // The string doubles until the guest's cgroup for the run (memory.max = the limit) OOMs.
    auto ctx = sh("a=xxxxxxxxxxxxxxxx; while :; do a=\"$a$a\"; done");
    ctx.config.memory_limit_mb = 48;
    auto r = run(ctx);
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->reason, Reason::MemoryExceeded) << r.error->message << r.metadata.stderr_data;
}

// The attack (red team, 2026-12-06): the program read the guest kernel's log through syslog(2)
// (busybox dmesg): every boot message, addresses and the layout of a kernel without KASLR
// included. The log is root's from boot (CONFIG_SECURITY_DMESG_RESTRICT), and the program is
// never root in the guest.
TEST_F(QemuTest, TheProgramCannotReadTheKernelLog) {
    auto r = run(sh("dmesg >/dev/null 2>&1 && echo READ || echo REFUSED; cat /proc/sys/kernel/dmesg_restrict"));
    ASSERT_FALSE(r.error.has_value()) << r.error->message << r.metadata.stderr_data;
    EXPECT_EQ(r.metadata.stdout_data, "REFUSED\n1\n");
}

// The attack: perf_event_open, a frequent way from a user to root in a kernel, from the program
// (never root in the guest). The guest kernel refuses it to every user but root
// (kernel.perf_event_paranoid=3 from boot); busybox has no perf_event_open, so the test reads
// the setting that decides.
TEST_F(QemuTest, TheProgramCannotOpenPerfEvents) {
    auto r = run(sh("cat /proc/sys/kernel/perf_event_paranoid"));
    ASSERT_FALSE(r.error.has_value()) << r.error->message << r.metadata.stderr_data;
    EXPECT_EQ(r.metadata.stdout_data, "3\n");
}

// The guest kernel the VMs boot was built with its hardening (vm/image/kernel.config): each
// option leaves a function in the vmlinux that no build without it has. The image's own kernel
// only: a bzImage is the cloud-kernel fallback, which the project did not build.
TEST_F(QemuTest, TheGuestKernelIsBuiltWithItsHardening) {
    auto image = microvm::host::find_guest_image("");
    ASSERT_TRUE(image) << image.error().message;
    if (fs::path(image->kernel).filename() != "vmlinux") GTEST_SKIP() << "not the project's kernel: " << image->kernel;
    std::string symbols;
    FILE* nm = ::popen(("nm --defined-only '" + image->kernel + "'").c_str(), "r");
    ASSERT_NE(nm, nullptr);
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, nm)) > 0;) symbols.append(buf, n);
    ASSERT_EQ(::pclose(nm), 0) << "nm failed on " << image->kernel;
    for (const char* fn : {" __stack_chk_fail\n",      // STACKPROTECTOR
                           " __check_object_size\n",   // HARDENED_USERCOPY
                           " fortify_panic\n"}) {      // FORTIFY_SOURCE
        EXPECT_NE(symbols.find(fn), std::string::npos) << "no" << fn << "in " << image->kernel;
    }
}

// The attack: root in the guest lifts what the agent set for its run (its cgroup's memory.max,
// kernel.threads-max) or leaves its cgroup, then allocates past the limit. The program runs as
// QEMU's uid (a root host's per-VM uid), never root: each write is refused, and the limit
// still ends it as memory_exceeded.
TEST_F(QemuTest, TheProgramCannotLiftItsOwnLimits) {
    auto ctx = sh(
        "while read k v rest; do [ \"$k\" = Uid: ] && echo \"uid $v\"; done < /proc/self/status; "
        "read line < /proc/self/cgroup; cg=/sys/fs/cgroup${line#0::}; "
        "echo max > $cg/memory.max 2>/dev/null && echo RAISED; "
        "echo 99999 > /proc/sys/kernel/threads-max 2>/dev/null && echo THREADS; "
        "echo $$ > /sys/fs/cgroup/cgroup.procs 2>/dev/null && echo LEFT; "
        "read line < /proc/self/cgroup; echo \"in ${line#0::}\"; "
        "a=xxxxxxxxxxxxxxxx; while :; do a=\"$a$a\"; done");
    ctx.config.memory_limit_mb = 48;
    auto r = run(ctx);
    const std::string& out = r.metadata.stdout_data;
    const size_t at = out.find("uid ");
    ASSERT_NE(at, std::string::npos) << out;
    const unsigned long uid = std::strtoul(out.c_str() + at + 4, nullptr, 10);
    if (::geteuid() == 0) {  // QEMU's per-VM uid
        EXPECT_GE(uid, microvm::qemu::kQemuUidBase) << out;
        EXPECT_LT(uid, microvm::qemu::kQemuUidBase + microvm::host::kIdLeaseCount) << out;
    } else {
        EXPECT_EQ(uid, ::geteuid()) << out;
    }
    EXPECT_EQ(out.find("RAISED"), std::string::npos) << out;
    EXPECT_EQ(out.find("THREADS"), std::string::npos) << out;
    EXPECT_EQ(out.find("LEFT"), std::string::npos) << out;
    EXPECT_NE(out.find("in /run"), std::string::npos) << out;  // still in its run's cgroup
    ASSERT_TRUE(r.error.has_value()) << out;
    EXPECT_EQ(r.error->reason, Reason::MemoryExceeded) << r.error->message << r.metadata.stderr_data;
}

// max_processes bounds the program with its own process: in a restored VM that process was
// forked (with its waiting thread) before the snapshot, and the agent counts it when it caps the
// guest's tasks at the Exec. The shell aborts at its first failed fork; before that it says
// "started" once per child it got. Counting the waiting process wrongly gives it more.
TEST_F(QemuTest, ProcessLimitCountsTheProgramsOwnProcess) {
    auto ctx = sh("i=0; while [ $i -lt 8 ]; do sleep 5 & echo started; i=$((i+1)); done");
    ctx.config.max_processes = 4;
    auto r = run(ctx);
    EXPECT_EQ(r.metadata.provider_details["start"], "restored") << r.metadata.provider_details["cold_boot_why"];
    const std::string& out = r.metadata.stdout_data;
    size_t started = 0;
    for (size_t at = out.find("started"); at != std::string::npos; at = out.find("started", at + 1)) ++started;
    EXPECT_GE(started, 1u) << out << r.metadata.stderr_data;
    EXPECT_LE(started, 3u) << out << r.metadata.stderr_data;  // the shell and 3 children
}

TEST_F(QemuTest, TimeoutKillsTheRunAndTheVm) {
    auto ctx = sh("sleep 60");
    ctx.config.timeout = 2s;
    const auto started = std::chrono::steady_clock::now();
    auto r = run(ctx);
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->reason, Reason::Timeout);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 40s);
    EXPECT_EQ(qemu_processes_of(::getpid()), 0);
}

TEST_F(QemuTest, OutputIsCappedAndStreamed) {
    auto ctx = sh("yes 0123456789 | head -c 300000; echo err >&2");
    ctx.config.max_output_bytes = 1000;
    std::string streamed;
    ctx.on_output = [&](microvm::OutputStream s, std::string_view b) {
        if (s == microvm::OutputStream::Stdout) streamed.append(b);
    };
    auto r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << (r.error ? r.error->message : "");
    EXPECT_EQ(r.metadata.stdout_data.size(), 1000u);
    EXPECT_TRUE(r.metadata.stdout_truncated);
    EXPECT_EQ(streamed, r.metadata.stdout_data);
    EXPECT_EQ(r.metadata.stderr_data, "err\n");
}

// Restored VMs come from one template: without the agent's Setup (clock, seed) they would share
// the template's clock and generator state, and without a fresh VM each they would share /tmp.
TEST_F(QemuTest, RestoredVmsAreFreshWithTheirOwnSeedAndACurrentClock) {
    const std::string report = "head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \\n'; echo; date +%s";
    auto first = run(sh("echo planted > /tmp/planted; (sleep 300 &) ; " + report));
    // The template is now at least 3 s old: a guest clock not set on restore would be behind.
    std::this_thread::sleep_for(3s);
    auto seconds_now = [] {
        return std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch()).count();
    };
    const long long before = seconds_now();
    auto second = run(sh("test -e /tmp/planted && echo PLANTED; pidof sleep >/dev/null && echo SLEEPING; " + report));
    const long long after = seconds_now();
    ASSERT_EQ(first.status, Status::Ok) << (first.error ? first.error->message : "");
    ASSERT_EQ(second.status, Status::Ok) << (second.error ? second.error->message : "");
    EXPECT_EQ(first.metadata.provider_details["start"], "restored") << first.metadata.provider_details["cold_boot_why"];
    EXPECT_EQ(second.metadata.provider_details["start"], "restored") << second.metadata.provider_details["cold_boot_why"];
    const std::string& out = second.metadata.stdout_data;
    EXPECT_EQ(out.find("PLANTED"), std::string::npos) << out;   // the first VM's file
    EXPECT_EQ(out.find("SLEEPING"), std::string::npos) << out;  // the first VM's process
    auto lines = [](const std::string& text) {
        std::vector<std::string> v;
        size_t at = 0;
        while (at < text.size()) {
            size_t eol = text.find('\n', at);
            if (eol == std::string::npos) eol = text.size();
            v.push_back(text.substr(at, eol - at));
            at = eol + 1;
        }
        return v;
    };
    auto a = lines(first.metadata.stdout_data);
    auto b = lines(out);
    ASSERT_EQ(a.size(), 2u) << first.metadata.stdout_data;
    ASSERT_EQ(b.size(), 2u) << out;
    EXPECT_EQ(a[0].size(), 32u);
    EXPECT_NE(a[0], b[0]);  // each restored VM's generator was reseeded differently
    const long long guest_now = std::atoll(b[1].c_str());
    EXPECT_GE(guest_now, before - 1) << out;  // the host's clock, to the second
    EXPECT_LE(guest_now, after + 1) << out;
}

// A template is code the next executions run: one that root did not write exactly so (another
// owner, a changed byte, a symlink) is refused, removed and rebuilt, never restored.
TEST_F(QemuTest, PlantedOrCorruptTemplateIsNeverRestored) {
    // Where the host trusts a cache (not /tmp, which anyone may write).
    std::string tmpl = testsupport::state_temp_template("qemu-templates");
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dirs_.push_back(tmpl);
    const std::string parent = tmpl;
    const std::string cache = parent + "/templates";
    microvm::QemuProvider p;
    ASSERT_TRUE(p.initialize({{"template_dir", cache}}));
    ExecutionContext ctx;
    ctx.program = microvm::RtfsSource{"(+ 1 2)"};
    auto expect_rebuilt = [&](const std::string& refusal) {
        auto r = p.execute_program(ctx);
        ASSERT_EQ(r.status, Status::Ok) << (r.error ? r.error->message : "");
        EXPECT_EQ(r.value, "3");
        auto& d = r.metadata.provider_details;
        EXPECT_EQ(d["start"], "restored") << d["cold_boot_why"];
        EXPECT_TRUE(d.count("template_built_ms")) << "the template was not rebuilt";
        EXPECT_NE(d["template_refused"].find(refusal), std::string::npos) << d["template_refused"];
    };
    expect_rebuilt("");  // the first run builds the template
    std::string key_dir;
    for (const auto& e : fs::directory_iterator(cache)) {
        if (e.path().filename().string().rfind("build-", 0) != 0) key_dir = e.path();
    }
    ASSERT_FALSE(key_dir.empty());
    const std::string state = key_dir + "/state";

    ASSERT_EQ(::chown(state.c_str(), 65534, 65534), 0);  // planted by another user
    expect_rebuilt("owned by uid 65534");

    ::chmod(state.c_str(), 0666);  // writable by anyone
    expect_rebuilt("writable by group or others");

    {  // root's file, but not what was saved: one byte changed, same size
        std::fstream f(state, std::ios::in | std::ios::out | std::ios::binary);
        f.seekg(4096);
        char c = static_cast<char>(f.get());
        f.seekp(4096);
        f.put(static_cast<char>(~c));
    }
    expect_rebuilt("SHA-256");

    fs::rename(state, key_dir + "/real");
    fs::create_symlink(key_dir + "/real", state);  // a symlink is never followed
    expect_rebuilt(state);

    // Root's own files, consistent, but not a stream QEMU can load (another QEMU build, say):
    // the restore fails, the execution boots cold, and the template is dropped to be rebuilt.
    fs::remove(state);
    std::ofstream(state) << "not a migration stream";
    ::chmod(state.c_str(), 0600);
    std::string digest;
    if (FILE* f = ::popen(("sha256sum " + state).c_str(), "r")) {
        char buf[65] = {};
        if (std::fread(buf, 1, 64, f) == 64) digest = buf;
        ::pclose(f);
    }
    ASSERT_EQ(digest.size(), 64u);
    fs::remove(key_dir + "/manifest.json");
    std::ofstream(key_dir + "/manifest.json")
        << nlohmann::json{{"format", 1}, {"key", fs::path(key_dir).filename().string()},
                          {"state_size", fs::file_size(state)}, {"state_sha256", digest}}.dump();
    ::chmod((key_dir + "/manifest.json").c_str(), 0600);
    auto unloadable = p.execute_program(ctx);
    ASSERT_EQ(unloadable.status, Status::Ok) << (unloadable.error ? unloadable.error->message : "");
    EXPECT_EQ(unloadable.value, "3");
    EXPECT_EQ(unloadable.metadata.provider_details["start"], "cold_boot");
    EXPECT_NE(unloadable.metadata.provider_details["cold_boot_why"].find("restore failed"), std::string::npos)
        << unloadable.metadata.provider_details["cold_boot_why"];
    // QEMU, which ended on the stream, says why (its stderr), not just that the channel closed.
    EXPECT_NE(unloadable.metadata.provider_details["cold_boot_why"].find("QEMU exited"), std::string::npos)
        << unloadable.metadata.provider_details["cold_boot_why"];
    EXPECT_FALSE(fs::exists(key_dir));
    expect_rebuilt("");

    // A cache directory others may enter is not used at all: cold boot, saying why.
    ::chmod(cache.c_str(), 0755);
    auto r = p.execute_program(ctx);
    ASSERT_EQ(r.status, Status::Ok) << (r.error ? r.error->message : "");
    EXPECT_EQ(r.metadata.provider_details["start"], "cold_boot");
    EXPECT_NE(r.metadata.provider_details["cold_boot_why"].find("0700"), std::string::npos)
        << r.metadata.provider_details["cold_boot_why"];

    // Nor is one whose parent others may write (they could rename the cache away and put
    // their own in its place).
    ::chmod(cache.c_str(), 0700);
    ::chmod(parent.c_str(), 0770);
    r = p.execute_program(ctx);
    ASSERT_EQ(r.status, Status::Ok) << (r.error ? r.error->message : "");
    EXPECT_EQ(r.metadata.provider_details["start"], "cold_boot");
    EXPECT_NE(r.metadata.provider_details["cold_boot_why"].find(parent + "' is writable by its group"), std::string::npos)
        << r.metadata.provider_details["cold_boot_why"];
    p.cleanup();
}

// pool_size: restored VMs kept ready. A pooled VM serves one execution and is set up (clock,
// seed) when taken; the pool's VMs die with the provider.
TEST_F(QemuTest, PooledVmsAreFreshSetUpWhenTakenAndGoWithTheProvider) {
    microvm::QemuProvider p;
    EXPECT_FALSE(p.pool_figures()) << "not initialized: no figures";
    ASSERT_TRUE(p.initialize({{"pool_size", 1}}));
    auto first = p.execute_program(sh("echo planted > /tmp/planted; (sleep 300 &) ; echo ok"));
    ASSERT_EQ(first.status, Status::Ok) << (first.error ? first.error->message : "");
    EXPECT_EQ(first.metadata.provider_details["start"], "restored");
    // The pool's worker restores the next VM meanwhile; its figures (microvmd's /metrics) say when.
    auto figures = p.pool_figures();
    ASSERT_TRUE(figures);
    EXPECT_EQ(figures->target, 1u);
    EXPECT_EQ(figures->misses, 1u);  // the first execution found none
    EXPECT_EQ(figures->hits, 0u);
    for (auto until = std::chrono::steady_clock::now() + 30s;
         p.pool_figures()->ready < 1 && std::chrono::steady_clock::now() < until;)
        std::this_thread::sleep_for(50ms);
    ASSERT_EQ(p.pool_figures()->ready, 1u) << "no pooled VM after 30 s: " << first.metadata.provider_details["pool_problem"];
    const long long before = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::system_clock::now().time_since_epoch()).count();
    auto second = p.execute_program(sh("test -e /tmp/planted && echo PLANTED; pidof sleep >/dev/null && echo SLEEPING; date +%s"));
    const long long after = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::system_clock::now().time_since_epoch()).count();
    ASSERT_EQ(second.status, Status::Ok) << (second.error ? second.error->message : "");
    EXPECT_EQ(second.metadata.provider_details["start"], "pool") << second.metadata.provider_details["cold_boot_why"];
    EXPECT_EQ(p.pool_figures()->hits, 1u);
    EXPECT_EQ(p.pool_figures()->misses, 1u);
    EXPECT_EQ(p.pool_figures()->failures, 0u);
    const std::string& out = second.metadata.stdout_data;
    EXPECT_EQ(out.find("PLANTED"), std::string::npos) << out;
    EXPECT_EQ(out.find("SLEEPING"), std::string::npos) << out;
    const long long guest_now = std::atoll(out.c_str());
    EXPECT_GE(guest_now, before - 1) << out;  // set when taken, not when the VM was restored
    EXPECT_LE(guest_now, after + 1) << out;
    const auto until = std::chrono::steady_clock::now() + 20s;
    while (qemu_processes_of(::getpid()) == 0 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(50ms);
    }
    EXPECT_EQ(qemu_processes_of(::getpid()), 1);  // the next pooled VM, waiting
    p.cleanup();
    EXPECT_FALSE(p.pool_figures()) << "cleaned up: no figures";
    EXPECT_EQ(qemu_processes_of(::getpid()), 0);
    EXPECT_EQ(vm_dirs_of(::getpid()), 0);
}

// The attack: a guest that takes over its QEMU goes after another QEMU of the same host (a
// pooled VM the next execution will take, a template being built) with ptrace, /proc/PID/mem or
// signals, all of which one shared uid allowed. Each QEMU now has a uid of its own: from the uid
// of one, another cannot even be signalled.
TEST_F(QemuTest, EachQemuRunsUnderAUidOfItsOwn) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "per-VM uids are a root host's");
    microvm::QemuProvider p;
    ASSERT_TRUE(p.initialize({{"pool_size", 2}}));
    ASSERT_EQ(p.execute_program(sh("true")).status, Status::Ok);  // starts the pool
    ExecutionResult running;
    std::thread t([&] { running = p.execute_program(sh("sleep 3; echo done")); });
    std::vector<std::pair<pid_t, uid_t>> qemus;
    const auto until = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < until) {
        qemus = qemus_of(::getpid());
        if (qemus.size() >= 3) break;  // the running VM and two pooled ones
        std::this_thread::sleep_for(50ms);
    }
    ASSERT_GE(qemus.size(), 2u);
    for (size_t i = 0; i < qemus.size(); ++i) {
        const uid_t uid = qemus[i].second;
        EXPECT_GE(uid, microvm::qemu::kQemuUidBase);
        EXPECT_LT(uid, microvm::qemu::kQemuUidBase + microvm::host::kIdLeaseCount);
        for (size_t j = i + 1; j < qemus.size(); ++j) EXPECT_NE(uid, qemus[j].second);
    }
    // As the first QEMU's uid, signal 0 (the permission check alone) to each of the others.
    const uid_t attacker = qemus[0].second;
    std::vector<pid_t> victims;
    for (size_t i = 1; i < qemus.size(); ++i) victims.push_back(qemus[i].first);
    pid_t child = ::fork();
    if (child == 0) {
        if (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(attacker, attacker, attacker) != 0) ::_exit(2);
        for (pid_t v : victims) {
            if (::kill(v, 0) == 0 || errno != EPERM) ::_exit(1);
        }
        ::_exit(0);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "one QEMU's uid reached another";
    t.join();
    EXPECT_EQ(running.status, Status::Ok);
    p.cleanup();
}

TEST_F(QemuTest, ProgramNotInTheImageIsNotFound) {
    ExecutionContext ctx;
    ctx.program = microvm::ExternalProgram{"/usr/bin/python3-not-here", {}};
    auto r = run(ctx);
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->reason, Reason::ProgramNotFound) << r.error->message;
}

TEST_F(QemuTest, NoLeftoversAfterRunsAndAfterTheHostIsKilled) {
    for (int i = 0; i < 3; ++i) run(sh("true"));
    EXPECT_EQ(qemu_processes_of(::getpid()), 0);
    EXPECT_EQ(vm_dirs_of(::getpid()), 0);
    EXPECT_EQ(cgroups_of(::getpid()), 0);

    int out[2];
    ASSERT_EQ(::pipe(out), 0);
    pid_t helper = ::fork();
    if (helper == 0) {
        ::dup2(out[1], 1);
        ::execl(QEMU_HOST_HELPER, QEMU_HOST_HELPER, nullptr);
        ::_exit(127);
    }
    ::close(out[1]);
    char buf[16] = {};
    ASSERT_GT(::read(out[0], buf, sizeof buf), 0);  // "started"
    ::close(out[0]);
    const auto until = std::chrono::steady_clock::now() + 30s;
    while (qemu_processes_of(helper) == 0 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(50ms);
    }
    ASSERT_EQ(qemu_processes_of(helper), 1);
    std::this_thread::sleep_for(500ms);
    ::kill(helper, SIGKILL);
    ::waitpid(helper, nullptr, 0);
    const auto gone = std::chrono::steady_clock::now() + 10s;
    while (qemu_processes_of(helper) > 0 && std::chrono::steady_clock::now() < gone) {
        std::this_thread::sleep_for(50ms);
    }
    EXPECT_EQ(qemu_processes_of(helper), 0);  // PR_SET_PDEATHSIG
    // Its directory is left behind (unless a concurrent test's provider already swept it) ...
    microvm::QemuProvider next;
    ASSERT_TRUE(next.initialize(nlohmann::json::object()));
    EXPECT_EQ(vm_dirs_of(helper), 0);  // ... and swept by the next provider
    EXPECT_EQ(cgroups_of(helper), 0);
    next.cleanup();
}

TEST(QemuUnavailable, MissingImageNamesTheBuildCommand) {
    microvm::QemuProvider p;
    auto ok = p.initialize({{"image", "/var/cache/microvm/nonexistent-image"}});
    ASSERT_FALSE(ok);
    EXPECT_NE(ok.error().message.find("scripts/build-guest-image.sh"), std::string::npos)
        << ok.error().message;
}

}  // namespace
