// The provider-independent enforcement tests (see enforcement_suite.hpp). Every test states the
// policy it enforces; removing that enforcement from the provider makes the test fail.
#include "enforcement_suite.hpp"

#include <fcntl.h>
#include <mqueue.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "host_probes.hpp"
#include "microvm/guest_protocol.hpp"
#include "support/result_text.hpp"
#include "support/timeout_measurements.hpp"
#include "support/expectations.hpp"

namespace enforcement {
namespace {

using testsupport::describe;
using testsupport::read_file;

using namespace std::chrono_literals;
using microvm::ExecutionContext;
using microvm::ExecutionResult;
using microvm::FileSystemPolicy;
using microvm::NetworkPolicy;
using microvm::Status;
namespace fs = std::filesystem;

void write_file(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

// A host file every Linux machine has, which fs none must hide.
std::string host_file() {
    return fs::exists("/etc/hostname") ? "/etc/hostname" : "/etc/passwd";
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

std::string unique_marker() {
    std::random_device rd;
    return "enforcement-marker-" + std::to_string(rd()) + std::to_string(rd());
}

// A sandbox is torn down right after its result (the init's exit, the cgroup's removal): what
// is left must be gone within moments, and never stay.
void expect_same_host_state(const HostSnapshot& before, HostSnapshot after) {
    auto same = [&](const HostSnapshot& now) {
        return before.children == now.children && before.mounts == now.mounts &&
               before.cgroups == now.cgroups && before.temp_dirs == now.temp_dirs &&
               before.open_fds == now.open_fds;
    };
    eventually([&] {
        if (same(after)) return true;
        after = take_snapshot();
        return same(after);
    }, std::chrono::seconds(5));
    EXPECT_EQ(before.children, after.children) << "processes left behind";
    EXPECT_EQ(before.mounts, after.mounts) << "mounts left behind";
    EXPECT_EQ(before.cgroups, after.cgroups) << "cgroups left behind";
    EXPECT_EQ(before.temp_dirs, after.temp_dirs) << "temp dirs left behind";
    EXPECT_EQ(before.open_fds, after.open_fds) << "descriptors left open";
}

// This process's peak resident size (VmHWM), in KiB; -1 if unreadable.
long host_peak_rss_kib() {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with("VmHWM:")) return std::atol(line.c_str() + 6);
    }
    return -1;
}

}  // namespace

std::string target_name(const ::testing::TestParamInfo<EnforcementTarget>& info) {
    return info.param.name + (info.param.variant.empty() ? "" : "_" + info.param.variant) +
           (info.param.built_ahead ? "_built_ahead" : "");
}

void PrintTo(const EnforcementTarget& target, std::ostream* os) {
    *os << target.name;
}

std::string helper(const std::string& name) {
    return std::string(ENFORCEMENT_HELPER_DIR) + "/" + name;
}

void ProviderEnforcementTest::SetUp() {
    provider_ = GetParam().make();
    microvm::Availability a = provider_->availability();
    MICROVM_REQUIRE(GetParam().name, a.available, a.reason);
    auto ok = provider_->initialize(GetParam().settings);
    ASSERT_TRUE(ok) << ok.error().message;
}

void ProviderEnforcementTest::TearDown() {
    if (provider_) provider_->cleanup();
    for (const std::string& d : dirs_) {
        std::error_code ec;
        fs::remove_all(d, ec);
    }
}

ExecutionContext ProviderEnforcementTest::external(const std::string& path,
                                                   std::vector<std::string> args) {
    ExecutionContext ctx;
    ctx.program = microvm::ExternalProgram{path, std::move(args)};
    ctx.config.timeout = 20s;
    return ctx;
}

std::string ProviderEnforcementTest::make_host_dir() {
    char tmpl[] = "/tmp/enforcement-XXXXXX";
    const char* dir = ::mkdtemp(tmpl);
    EXPECT_NE(dir, nullptr);
    ::chmod(dir, 0777);  // the sandbox's unprivileged user may write here
    dirs_.emplace_back(dir);
    return dir;
}

// --- file system -------------------------------------------------------------------------------

microvm::ExecutionResult ProviderEnforcementTest::run(const ExecutionContext& ctx, std::chrono::nanoseconds* executed) {
    const auto timed = [&](auto&& execute) {
        const auto start = std::chrono::steady_clock::now();
        ExecutionResult r = execute();
        if (executed) *executed = std::chrono::steady_clock::now() - start;
        return r;
    };
    if (!GetParam().built_ahead) return timed([&] { return provider_->execute_program(ctx); });
    auto prepared = provider_->prepare(ctx);
    if (!prepared) {
        // Only what fails fresh too, or a host list (whose proxy is the execution's own), may
        // be refused ahead.
        ExecutionResult fresh = timed([&] { return provider_->execute_program(ctx); });
        const auto kind = ctx.config.network_policy.kind;
        if (kind != microvm::NetworkPolicy::Kind::AllowList &&
            kind != microvm::NetworkPolicy::Kind::DenyList) {
            EXPECT_FALSE(fresh.ok()) << "prepare refused what runs fresh: "
                                     << prepared.error().message;
        }
        return fresh;
    }
    EXPECT_TRUE(provider_->fits(**prepared, ctx));
    return timed([&] { return provider_->execute_program(ctx, std::move(*prepared)); });
}

TEST_P(ProviderEnforcementTest, FsNoneHidesHostFiles) {
    ExecutionResult r = run(external("/bin/cat", {host_file()}));
    EXPECT_EQ(r.status, Status::RuntimeError) << describe(r);
    EXPECT_NE(r.metadata.exit_code.value_or(0), 0);
    EXPECT_NE(r.metadata.stderr_data.find("No such file"), std::string::npos) << describe(r);
    EXPECT_TRUE(r.metadata.stdout_data.empty());
}

TEST_P(ProviderEnforcementTest, FsReadOnlyAllowsReadingTheListedPaths) {
    ExecutionContext ctx = external("/bin/cat", {host_file()});
    ctx.config.fs_policy = FileSystemPolicy::read_only({"/etc"});
    ExecutionResult r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data, read_file(host_file()));
}

TEST_P(ProviderEnforcementTest, FsReadOnlyRefusesWrites) {
    std::string dir = make_host_dir();
    write_file(dir + "/data", "hello");
    // Shell builtins only: with ro=DIR nothing but the shell itself is bound.
    ExecutionContext ctx =
        external("/bin/sh",
                 {"-c", "read line < " + dir + "/data; echo \"$line\"; echo x > " + dir + "/new"});
    ctx.config.fs_policy = FileSystemPolicy::read_only({dir});
    ExecutionResult r = run(ctx);
    EXPECT_EQ(r.status, Status::RuntimeError) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data, "hello\n");
    EXPECT_NE(r.metadata.stderr_data.find("Read-only file system"), std::string::npos)
        << describe(r);
    EXPECT_FALSE(fs::exists(dir + "/new"));
}

TEST_P(ProviderEnforcementTest, FsReadWriteWritesReachTheHost) {
    std::string dir = make_host_dir();
    ExecutionContext ctx = external("/bin/sh", {"-c", "echo written > " + dir + "/out"});
    ctx.config.fs_policy = FileSystemPolicy::read_write({dir});
    ExecutionResult r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(read_file(dir + "/out"), "written\n");
}

TEST_P(ProviderEnforcementTest, FsReadOnlyAndReadWritePathsCombine) {
    std::string dir = make_host_dir();
    // The common case: the system directories to run from, one directory to write to.
    ExecutionContext ctx =
        external("/bin/sh", {"-c", "cat /etc/hostname > " + dir + "/copy; echo x > /etc/x"});
    auto policy = FileSystemPolicy::combine(FileSystemPolicy::read_only(),
                                            FileSystemPolicy::read_write({dir}));
    ASSERT_TRUE(policy) << policy.error().message;
    ctx.config.fs_policy = *policy;
    ExecutionResult r = run(ctx);
    EXPECT_EQ(r.status, Status::RuntimeError) << describe(r);  // /etc stays read-only
    EXPECT_NE(r.metadata.stderr_data.find("cannot create /etc/x"), std::string::npos)
        << describe(r);
    EXPECT_FALSE(fs::exists("/etc/x"));
    EXPECT_EQ(read_file(dir + "/copy"), read_file("/etc/hostname"));
}

TEST_P(ProviderEnforcementTest, FsReadWriteKeepsTheRestHidden) {
    std::string dir = make_host_dir();
    ExecutionContext ctx = external("/bin/cat", {host_file()});
    ctx.config.fs_policy = FileSystemPolicy::read_write({dir});
    ExecutionResult r = run(ctx);
    EXPECT_EQ(r.status, Status::RuntimeError) << describe(r);
    EXPECT_TRUE(r.metadata.stdout_data.empty());
}

TEST_P(ProviderEnforcementTest, SymlinksInABoundDirCannotRevealHostFiles) {
    std::string dir = make_host_dir();
    fs::create_symlink(host_file(), dir + "/absolute");
    fs::create_symlink("../../../../../../../../.." + host_file(), dir + "/relative");
    ASSERT_EQ(read_file(dir + "/absolute"), read_file(host_file()));  // they work on the host
    ExecutionContext ctx = external(
        "/bin/cat", {dir + "/absolute", dir + "/relative", dir + "/../../../../.." + host_file()});
    ctx.config.fs_policy = FileSystemPolicy::read_write({dir});
    ExecutionResult r = run(ctx);
    EXPECT_EQ(r.status, Status::RuntimeError) << describe(r);
    EXPECT_TRUE(r.metadata.stdout_data.empty()) << describe(r);
}

// The attack (red team, 2026-12-04): extended attributes set through an rw= directory act on
// the host. A default POSIX ACL on it made every file root later created there world-writable
// (process, before its seccomp policy refused the setxattr family); a file capability would make
// a planted binary raise its privileges whoever runs it. Whatever the provider's mechanism
// (seccomp, gVisor's gofer, QEMU's 9p as an unprivileged user), none reaches the host's files.
TEST_P(ProviderEnforcementTest, NoExtendedAttributeTheHostActsOnIsPlanted) {
    std::string dir = make_host_dir();
    ExecutionResult r = run(external(helper("xattr_plant"), {dir}));
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_NE(r.metadata.stdout_data.find("capability "), std::string::npos) << "the planter did not run";
    for (const char* what : {"acl set", "capability set", "trusted set"}) {
        EXPECT_EQ(r.metadata.stdout_data.find(what), std::string::npos) << describe(r);
    }
    char names[4096];
    const ssize_t n = ::listxattr(dir.c_str(), names, sizeof names);
    ASSERT_GE(n, 0) << std::strerror(errno);
    EXPECT_EQ(std::string(names, static_cast<size_t>(n)).find("system.posix_acl_default"), std::string::npos);
    const std::string capfile = dir + "/capfile";
    if (fs::exists(capfile)) {
        char value[64];
        EXPECT_LT(::getxattr(capfile.c_str(), "security.capability", value, sizeof value), 0)
            << "a file capability reached the host";
        EXPECT_LT(::getxattr(capfile.c_str(), "trusted.overlay.opaque", value, sizeof value), 0);
    }
    // What the host creates there afterwards keeps its own mode.
    write_file(dir + "/host-made", "x");
    struct stat st;
    ASSERT_EQ(::stat((dir + "/host-made").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0022, 0u) << "a file the host made is writable by others";
}

// The attack: an earlier sandbox with rw on a directory leaves a symlink there to the host's
// /proc (or /, /sys, /dev); a later run naming that path must not see what it points to.
TEST_P(ProviderEnforcementTest, PlantedSymlinksCannotBringInTheHostsKernelInterfaces) {
    std::string dir = make_host_dir();
    const std::string plant = "ln -s /proc " + dir + "/p; ln -s / " + dir + "/r; ln -s /sys " +
                              dir + "/s; ln -s /dev " + dir + "/d";
    ExecutionContext planting = external("/bin/sh", {"-c", plant});
    planting.config.fs_policy = FileSystemPolicy::read_write({dir}, {"/usr", "/lib", "/lib64"});
    ExecutionResult planted = run(planting);
    ASSERT_EQ(planted.status, Status::Ok) << describe(planted);
    for (const char* name : {"/p", "/r", "/s", "/d"}) {
        ASSERT_TRUE(fs::is_symlink(dir + name)) << name;
        ExecutionContext ctx = external("/bin/cat", {dir + name + "/1/cmdline"});
        ctx.config.fs_policy = FileSystemPolicy::read_only({dir + name});
        ExecutionResult r = run(ctx);
        EXPECT_EQ(r.status, Status::InvalidInput) << name << ": " << describe(r);
        EXPECT_TRUE(r.metadata.stdout_data.empty()) << describe(r);
        ASSERT_TRUE(r.error);
        EXPECT_NE(r.error->message.find("fs_policy path '" + dir + name + "'"), std::string::npos)
            << r.error->message;
    }
}

// The attack (red team, 2026-12-02): an earlier sandbox with rw on a directory leaves a symlink
// there to another host directory (/etc in the report); a later run given that path, writable,
// would write there as its owner. The path is refused; the other directory stays untouched.
TEST_P(ProviderEnforcementTest, PlantedSymlinksCannotLeadAPolicyPathElsewhere) {
    std::string dir = make_host_dir();
    std::string victim = make_host_dir();
    ExecutionContext planting = external("/bin/sh", {"-c", "ln -s " + victim + " " + dir + "/out"});
    planting.config.fs_policy = FileSystemPolicy::read_write({dir}, {"/usr", "/lib", "/lib64"});
    ExecutionResult planted = run(planting);
    ASSERT_EQ(planted.status, Status::Ok) << describe(planted);
    ASSERT_TRUE(fs::is_symlink(dir + "/out"));
    for (bool writable : {true, false}) {
        ExecutionContext ctx = external("/bin/sh", {"-c", "echo x > " + dir + "/out/planted; cat " +
                                                              dir + "/out/secret"});
        ctx.config.fs_policy = writable ? FileSystemPolicy::read_write({dir + "/out"}, {"/usr", "/lib", "/lib64"})
                                        : FileSystemPolicy::read_only({dir + "/out", "/usr", "/lib", "/lib64"});
        ExecutionResult r = run(ctx);
        EXPECT_EQ(r.status, Status::InvalidInput) << describe(r);
        ASSERT_TRUE(r.error);
        EXPECT_NE(r.error->message.find("through a symlink"), std::string::npos) << r.error->message;
        EXPECT_FALSE(fs::exists(victim + "/planted"));
    }
}

// The red team's local root (2026-12-02): with rw on a root-owned directory, a sandbox copied a
// program there and made it setuid; on the host the copy was setuid root, a root shell for any
// user. A file a sandbox writes belongs to the directory's owner, so no setuid or setgid bit
// may be set, by chmod or at creation.
TEST_P(ProviderEnforcementTest, NoSetuidOrSetgidFileIsLeftOnTheHost) {
    std::string dir = make_host_dir();
    const std::string script =
        "cp /bin/true " + dir + "/a; chmod 4755 " + dir + "/a; chmod g+s " + dir + "/a; " +
        "install -m 6755 /bin/true " + dir + "/b; cp /bin/true " + dir + "/c; chmod u+s,g+s " +
        dir + "/c; chmod 0755 " + dir + "/c && echo ordinary-ok";
    ExecutionContext ctx = external("/bin/sh", {"-c", script});
    ctx.config.fs_policy = FileSystemPolicy::read_write({dir}, {"/usr", "/lib", "/lib64", "/bin"});
    ExecutionResult r = run(ctx);
    EXPECT_NE(r.metadata.stdout_data.find("ordinary-ok"), std::string::npos) << describe(r);
    for (const char* name : {"/a", "/b", "/c"}) {
        struct stat st {};
        if (::stat((dir + name).c_str(), &st) != 0) continue;  // install refused to leave it
        EXPECT_EQ(st.st_mode & 06000, 0u) << name << " has mode " << std::oct << st.st_mode;
    }
}

// The sandbox's /dev/null and friends are the host's nodes: usable, never changeable.
TEST_P(ProviderEnforcementTest, DeviceNodesCannotBeChanged) {
    struct stat before {};
    ASSERT_EQ(::stat("/dev/null", &before), 0);
    ExecutionContext ctx = external(
        "/bin/sh", {"-c", "echo x > /dev/null && echo written; "
                          "chmod 666 /dev/null 2>&1; chmod 777 /dev/zero 2>&1; "
                          "chown 65534 /dev/urandom 2>&1; true"});
    ctx.config.fs_policy = FileSystemPolicy::read_only();  // chmod, chown
    ExecutionResult r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data.rfind("written\n", 0), 0u) << describe(r);
    EXPECT_EQ(lines(r.metadata.stdout_data).size(), 4u) << "every change must fail\n"
                                                        << describe(r);
    if (!GetParam().user_space_kernel) {  // the host's nodes, bound read-only
        for (const std::string& l : lines(r.metadata.stdout_data)) {
            if (l == "written") continue;
            EXPECT_NE(l.find("Read-only file system"), std::string::npos) << l;
        }
    }
    struct stat after {};
    ASSERT_EQ(::stat("/dev/null", &after), 0);
    EXPECT_EQ(before.st_mode, after.st_mode);
    EXPECT_EQ(before.st_uid, after.st_uid);
}

TEST_P(ProviderEnforcementTest, PolicyPathsWithDotDotAreRejected) {
    std::string dir = make_host_dir();
    ExecutionContext ctx = external("/bin/cat", {host_file()});
    ctx.config.fs_policy = FileSystemPolicy::read_only({dir + "/../../etc"});
    ExecutionResult r = run(ctx);
    EXPECT_EQ(r.status, Status::InvalidInput) << describe(r);
    EXPECT_TRUE(r.metadata.stdout_data.empty());
}

TEST_P(ProviderEnforcementTest, MissingPolicyPathsAreRejected) {
    ExecutionContext ctx = external("/bin/true");
    ctx.config.fs_policy = FileSystemPolicy::read_only({"/nonexistent/enforcement-path"});
    EXPECT_EQ(run(ctx).status, Status::InvalidInput);
}

// --- network -----------------------------------------------------------------------------------

TEST_P(ProviderEnforcementTest, NetworkDeniedCannotReachTheHostLoopback) {
    LoopbackListener server;
    ASSERT_GT(server.port(), 0);
    ExecutionResult r = run(external(helper("tcp_connect"), {std::to_string(server.port())}));
    EXPECT_EQ(r.status, Status::RuntimeError) << describe(r);
    EXPECT_NE(r.metadata.stdout_data.find("connect failed"), std::string::npos) << describe(r);
}

TEST_P(ProviderEnforcementTest, NetworkFullReachesTheHostLoopback) {
    LoopbackListener server;
    ASSERT_GT(server.port(), 0);
    ExecutionContext ctx = external(helper("tcp_connect"), {std::to_string(server.port())});
    ctx.config.network_policy = NetworkPolicy::full();
    ExecutionResult r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data, "connected\n");
}

// A host's Unix socket inside a bound directory is a host service: --net deny means no contact
// with any (the attack: a socket file under an ro or rw path accepted the sandbox's connection).
TEST_P(ProviderEnforcementTest, HostUnixSocketsAreUnreachableUnderNetworkDeny) {
    std::string dir = make_host_dir();
    const std::string path = dir + "/host.sock";
    int server = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(server, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(::bind(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(server, 8), 0);
    ::chmod(path.c_str(), 0777);  // anyone may connect, as far as file permissions go
    for (FileSystemPolicy policy : {FileSystemPolicy::read_only({dir}),
                                    FileSystemPolicy::read_write({dir})}) {
        ExecutionContext ctx = external(helper("unix_socket"), {"connect", path});
        ctx.config.fs_policy = policy;
        ExecutionResult r = run(ctx);
        EXPECT_EQ(r.status, Status::RuntimeError) << policy.to_string() << ": " << describe(r);
        EXPECT_EQ(r.metadata.stdout_data.find("connected"), std::string::npos) << describe(r);
    }
    // Nobody reached the host's server.
    ::fcntl(server, F_SETFL, O_NONBLOCK);
    EXPECT_LT(::accept(server, nullptr, nullptr), 0);
    ::close(server);

    // The check above is not vacuous: with the full network the same program connects.
    if (!GetParam().unix_sockets_inside) {
        LoopbackUnixServer control(dir + "/control.sock");
        ExecutionContext ctx = external(helper("unix_socket"), {"connect", control.path()});
        ctx.config.fs_policy = FileSystemPolicy::read_only({dir});
        ctx.config.network_policy = NetworkPolicy::full();
        ExecutionResult r = run(ctx);
        EXPECT_EQ(r.status, Status::Ok) << describe(r);
        EXPECT_EQ(r.metadata.stdout_data, "connected\n");
    }
}

TEST_P(ProviderEnforcementTest, UnixSocketsBetweenTheSandboxesOwnProcessesWork) {
    ExecutionResult pair = run(external(helper("unix_socket"), {"pair"}));
    ASSERT_EQ(pair.status, Status::Ok) << describe(pair);
    EXPECT_EQ(pair.metadata.stdout_data, "pair ok\n");
    ExecutionResult named = run(external(helper("unix_socket"), {"named", "/tmp"}));
    if (GetParam().unix_sockets_inside) {
        ASSERT_EQ(named.status, Status::Ok) << describe(named);
        EXPECT_EQ(named.metadata.stdout_data, "named ok\n");
    } else {  // socket(AF_UNIX) is refused under network deny (see docs/security.md)
        EXPECT_EQ(named.status, Status::RuntimeError) << describe(named);
        EXPECT_NE(named.metadata.stdout_data.find("socket failed: Operation not permitted"),
                  std::string::npos)
            << describe(named);
    }
}

TEST_P(ProviderEnforcementTest, HostAllowAndBlockListsAreEnforcedOrRefusedClearly) {
    for (NetworkPolicy policy :
         {NetworkPolicy::allow({"example.com"}), NetworkPolicy::deny({"example.com"})}) {
        ExecutionContext ctx = external("/bin/true");
        ctx.config.network_policy = policy;
        ExecutionResult r = run(ctx);
        if (GetParam().egress_proxy) {
            EXPECT_EQ(r.status, Status::Ok) << describe(r);
            continue;
        }
        EXPECT_EQ(r.status, Status::PolicyViolation) << describe(r);
        ASSERT_TRUE(r.error);
        EXPECT_NE(r.error->message.find("network_policy " + policy.to_string()), std::string::npos)
            << r.error->message;
        EXPECT_NE(r.error->message.find(GetParam().name), std::string::npos) << r.error->message;
        EXPECT_NE(r.error->message.find("deny or full"), std::string::npos) << r.error->message;
    }
}

// --- kernel budgets of host users ---------------------------------------------------------------

// The attack: a sandbox whose user namespace the host's root owns charges root's budgets; 128
// inotify instances or 9 POSIX message queues in it made the same calls fail for the host's root
// while it ran. A host-side probe must keep working while a sandbox takes all it can.
TEST_P(ProviderEnforcementTest, ASandboxCannotExhaustTheHostUsersKernelBudgets) {
    std::string dir = make_host_dir();
    const std::string marker = dir + "/holding";
    ExecutionContext ctx = external(helper("budget_hog"), {marker});
    ctx.config.fs_policy = FileSystemPolicy::read_write({dir});
    ctx.config.timeout = 4s;
    ExecutionResult r;
    std::thread sandbox([&] { r = run(ctx); });
    const auto deadline = std::chrono::steady_clock::now() + 3500ms;
    while (!fs::exists(marker) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(20ms);
    }
    const bool holding = fs::exists(marker);
    // The host's probes, as this process's own user, while the sandbox holds what it took.
    std::vector<int> inotify_fds;
    for (int i = 0; i < 8; ++i) inotify_fds.push_back(::inotify_init1(IN_CLOEXEC));
    const std::string queue = "/enforcement-probe-" + std::to_string(::getpid());
    mqd_t mq = ::mq_open(queue.c_str(), O_CREAT | O_RDWR, 0600, nullptr);
    const int mq_errno = errno;
    for (int fd : inotify_fds) {
        if (fd >= 0) ::close(fd);
    }
    if (mq != static_cast<mqd_t>(-1)) {
        ::mq_close(mq);
        ::mq_unlink(queue.c_str());
    }
    // fs.aio-max-nr is one budget of the whole host (red team, 2026-12-06: one sandbox took all
    // 65536 with two io_setup calls, and the host's own failed with EAGAIN).
    unsigned long aio_context = 0;
    const long aio_rc = ::syscall(SYS_io_setup, 128, &aio_context);
    const int aio_errno = errno;
    if (aio_rc == 0) ::syscall(SYS_io_destroy, aio_context);
    sandbox.join();
    ASSERT_TRUE(holding) << describe(r);
    EXPECT_EQ(r.status, Status::Timeout) << describe(r);
    int taken_inotify = 0, taken_queues = 0;
    long taken_aio = 0;
    ASSERT_EQ(std::sscanf(r.metadata.stdout_data.c_str(), "inotify %d mqueue %d aio %ld", &taken_inotify,
                          &taken_queues, &taken_aio),
              3)
        << describe(r);
    EXPECT_GT(taken_inotify, 0);
    EXPECT_GT(taken_queues, 0);
    for (int fd : inotify_fds) EXPECT_GE(fd, 0) << "inotify_init1 failed on the host";
    EXPECT_NE(mq, static_cast<mqd_t>(-1)) << "mq_open failed on the host: " << std::strerror(mq_errno);
    EXPECT_EQ(aio_rc, 0) << "io_setup failed on the host: " << std::strerror(aio_errno)
                         << " (the sandbox took " << taken_aio << " aio events)";
}

// --- limits ------------------------------------------------------------------------------------

TEST_P(ProviderEnforcementTest, MemoryOverTheLimitEndsWithMemoryExceeded) {
    ExecutionContext ctx = external(helper("alloc"), {"256"});
    ctx.config.memory_limit_mb = 64;
    ExecutionResult r = run(ctx);
    EXPECT_EQ(r.status, Status::MemoryExceeded) << describe(r);
    EXPECT_EQ(r.metadata.exit_code, 137);
    ASSERT_TRUE(r.metadata.memory_peak_mb);
    EXPECT_LE(*r.metadata.memory_peak_mb, 64.5);
    EXPECT_GE(*r.metadata.memory_peak_mb, 32.0);
}

TEST_P(ProviderEnforcementTest, MemoryUnderTheLimitRuns) {
    ExecutionContext ctx = external(helper("alloc"), {"32"});
    ctx.config.memory_limit_mb = 128;
    ExecutionResult r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    ASSERT_TRUE(r.metadata.memory_peak_mb);
    EXPECT_GE(*r.metadata.memory_peak_mb, 32.0);  // measured, not the configured 128
    EXPECT_LT(*r.metadata.memory_peak_mb, 100.0);
}

// Socket buffers are the sandbox's memory too: a program filling loopback sockets it never reads
// holds at most about its memory limit in them, under either network. Cgroup v1 charges them
// only once the cgroup's TCP limit is set; unset, 64 connections held 239 MiB of the host's
// tcp_mem pool and 512 UDP receivers 88 MiB of udp_mem. The kernel lets a TCP socket already
// over the limit queue one more send (up to 64 KiB; on v1 past the limit), so the TCP flood
// stops at 64 connections: the limit and those stay under twice the limit. A network stack in
// the sandbox's own memory (gVisor's netstack) may instead end the run at the memory limit.
TEST_P(ProviderEnforcementTest, SocketBuffersCountAgainstTheMemoryLimit) {
    constexpr uint64_t limit_mb = 32;
    for (const NetworkPolicy& policy : {NetworkPolicy::denied(), NetworkPolicy::full()}) {
        for (const auto& [mode, sockets] : {std::pair{"tcp", "64"}, std::pair{"udp", "512"}}) {
            SCOPED_TRACE(std::string(mode) + " under network " + policy.to_string());
            ExecutionContext ctx = external(helper("socket_hog"), {mode, sockets});
            ctx.config.memory_limit_mb = limit_mb;
            ctx.config.network_policy = policy;
            ExecutionResult r = run(ctx);
            if (r.status == Status::MemoryExceeded) continue;
            ASSERT_EQ(r.status, Status::Ok) << describe(r);
            long held = -1;
            int filled = 0;
            ASSERT_EQ(std::sscanf(r.metadata.stdout_data.c_str(), "%*s held %ld sockets %d", &held,
                                  &filled),
                      2)
                << describe(r);
            EXPECT_GT(held, 0);
            EXPECT_LT(held, long(2 * limit_mb) << 20) << filled << " sockets";
        }
    }
}

TEST_P(ProviderEnforcementTest, ProcessLimitStopsForks) {
    ExecutionContext ctx = external(helper("fork_count"), {"200"});
    ctx.config.max_processes = 16;
    ExecutionResult r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    int forked = -1;
    ASSERT_EQ(std::sscanf(r.metadata.stdout_data.c_str(), "forked %d", &forked), 1) << describe(r);
    EXPECT_LT(forked, 16) << describe(r);
    EXPECT_NE(r.metadata.stdout_data.find("Resource temporarily unavailable"), std::string::npos);
}

TEST_P(ProviderEnforcementTest, ForkBombIsContainedAndTheHostStaysResponsive) {
    HostSnapshot before = take_snapshot();
    ExecutionContext ctx = external(helper("fork_bomb"));
    ctx.config.max_processes = 32;
    ctx.config.timeout = 1500ms;
    ExecutionResult r;
    std::thread bomb([&] { r = run(ctx); });
    std::this_thread::sleep_for(500ms);
    double spawn_ms = host_spawn_ms();
    bomb.join();
    EXPECT_LT(spawn_ms, 1000.0) << "the host could not start a process during the fork bomb";
    // gVisor's sentry needs host tasks of its own as the bomb keeps forking; when the host
    // budget runs out first, the sandbox is stopped and says so (GvisorProviderTest has the
    // deterministic case).
    const bool process_limit = r.error && r.error->reason == microvm::Reason::ProcessLimit;
    EXPECT_TRUE(r.status == Status::Timeout || (GetParam().user_space_kernel && process_limit))
        << describe(r);
    expect_same_host_state(before, take_snapshot());
}

// The execution returns promptly once the program is killed: a sandbox built ahead is timed from
// its launch, not its preparation (which made the check one of the host's speed under load:
// 1.11 s in a CI run of 2026-12-05).
TEST_P(ProviderEnforcementTest, TimeoutKillsTheProgramOnTime) {
    ExecutionContext ctx = external("/bin/sleep", {"10"});
    ctx.config.timeout = 300ms;
    std::chrono::nanoseconds elapsed{0};
    ExecutionResult r = run(ctx, &elapsed);
    EXPECT_EQ(r.status, Status::Timeout) << describe(r);
    EXPECT_GE(r.metadata.duration, 300ms);
    EXPECT_LT(r.metadata.duration, 1s);
    EXPECT_LT(elapsed, 1s);
}

// Measured at a timeout too: the counters are read from the cgroup, which keeps what the killed
// processes used (the attack: 1.6 ms reported for 1.5 s of a busy loop).
TEST_P(ProviderEnforcementTest, CpuTimeIsMeasuredWhenTheTimeoutKills) {
    ExecutionContext ctx = external(helper("busy"), {"20000"});
    ctx.config.timeout = 1500ms;
    ExecutionResult r = run(ctx);
    ASSERT_EQ(r.status, Status::Timeout) << describe(r);
    ASSERT_TRUE(r.metadata.cpu_time);
    EXPECT_GT(*r.metadata.cpu_time, 500ms) << describe(r);
    EXPECT_LT(*r.metadata.cpu_time, 4s) << describe(r);
}

// Every figure of a timed-out run is measured, none echoed from the config: the program holds
// 48 MiB, sleeps 300 ms, then spins until killed (support/timeout_measurements.hpp).
TEST_P(ProviderEnforcementTest, MeasurementsAtATimeoutComeFromTheKernel) {
    constexpr auto timeout = 1500ms;
    ExecutionContext ctx = external(helper("hold"), {"48", "300"});
    ctx.config.timeout = timeout;
    ctx.config.memory_limit_mb = 512;
    const auto start = std::chrono::steady_clock::now();
    ExecutionResult r = run(ctx);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    testsupport::expect_measured_at_timeout(r, timeout);
    EXPECT_LE(r.metadata.duration, elapsed);
}

// At the smallest share a throttled program dies only once it runs: the kill waited for the next
// periods while it freed its 128 MiB at 1 ms per 100 ms (a 2 s timeout ended after 2.2 s, gVisor's
// after 2.5 s; red team, 2026-12-07). The kill lifts the quota first.
TEST_P(ProviderEnforcementTest, ATimeoutAtTheSmallestShareEndsOnTime) {
    constexpr auto timeout = 5s;
    ExecutionContext ctx = external(helper("hold"), {"128", "0"});
    ctx.config.timeout = timeout;
    ctx.config.cpu_limit = 0.01;
    ctx.config.memory_limit_mb = 512;
    ExecutionResult r = run(ctx);
    ASSERT_EQ(r.status, Status::Timeout) << describe(r);
    EXPECT_GE(r.metadata.duration, timeout) << describe(r);
    // Without the lift: 99-440 ms over in nine of ten runs here (the tenth's kill came while it
    // had quota left); with it 1-10 ms.
    EXPECT_LT(r.metadata.duration, timeout + 60ms) << describe(r);
}

// Real or refused: a share below what a CFS quota can enforce is refused, not raised.
TEST_P(ProviderEnforcementTest, CpuBelowTheQuotaFloorIsRefused) {
    ExecutionContext ctx = external("/bin/true");
    ctx.config.cpu_limit = 0.005;
    ExecutionResult r = run(ctx);
    EXPECT_EQ(r.status, Status::PolicyViolation) << describe(r);
    ASSERT_TRUE(r.error);
    EXPECT_NE(r.error->message.find("cannot enforce cpu_limit 0.005"), std::string::npos)
        << r.error->message;
    ctx.config.cpu_limit = 0.01;  // the floor itself is enforced (running at 1% takes long)
    EXPECT_TRUE(provider().check(ctx).empty());
}

// A twentieth of a core, far below what a loaded host leaves an unthrottled loop: without the
// quota the ratio was 0.47-0.55 at a load of 6 on 2 cores (so the old bound, 0.45 at a quarter
// of a core, passed without enforcement); throttled it is 0.05. The bound fails open only above
// a load of about 15.
TEST_P(ProviderEnforcementTest, CpuLimitThrottles) {
    ExecutionContext ctx = external(helper("busy"), {"2000"});
    ctx.config.cpu_limit = 0.05;
    ExecutionResult r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    ASSERT_TRUE(r.metadata.cpu_time);
    double ratio = std::chrono::duration<double>(*r.metadata.cpu_time).count() /
                   std::chrono::duration<double>(r.metadata.duration).count();
    EXPECT_GT(ratio, 0.01) << describe(r);  // it ran, and its CPU was measured
    EXPECT_LT(ratio, 0.12) << describe(r);
    // And the result says so, from the cgroup's own counters: it waited in most periods, for
    // most of the run (without the quota, no period is throttled).
    ASSERT_TRUE(r.metadata.cpu_throttling) << describe(r);
    EXPECT_GT(r.metadata.cpu_throttling->throttled_periods, 3u) << describe(r);
    EXPECT_GE(r.metadata.cpu_throttling->periods, r.metadata.cpu_throttling->throttled_periods);
    EXPECT_GT(r.metadata.cpu_throttling->throttled_time, r.metadata.duration / 2) << describe(r);
}

TEST_P(ProviderEnforcementTest, OutputIsCappedAndFlagged) {
    ExecutionContext ctx = external(helper("spew"), {std::to_string(4 << 20)});
    ctx.config.max_output_bytes = 64 * 1024;
    ExecutionResult r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);  // both pipes drained: no deadlock
    EXPECT_EQ(r.metadata.stdout_data.size(), 64u * 1024);
    EXPECT_EQ(r.metadata.stderr_data.size(), 64u * 1024);
    EXPECT_TRUE(r.metadata.stdout_truncated);
    EXPECT_TRUE(r.metadata.stderr_truncated);

    ExecutionResult small = run(external(helper("spew"), {"1000"}));
    ASSERT_EQ(small.status, Status::Ok) << describe(small);
    EXPECT_EQ(small.metadata.stdout_data.size(), 1000u);
    EXPECT_FALSE(small.metadata.stdout_truncated);
}

// --- isolation ---------------------------------------------------------------------------------

TEST_P(ProviderEnforcementTest, HostProcessesAreInvisible) {
    // A shell glob rather than ls: coreutils 9's ls fails on gVisor 2022 (statx flags).
    ExecutionResult r =
        run(external("/bin/sh", {"-c", "for e in /proc/*; do echo \"${e#/proc/}\"; done"}));
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    int pids = 0;
    for (const std::string& entry : lines(r.metadata.stdout_data)) {
        if (!entry.empty() && std::all_of(entry.begin(), entry.end(), ::isdigit)) {
            ++pids;
            EXPECT_LT(std::stoi(entry), 10) << "a host process is visible: " << entry;
        }
    }
    EXPECT_GE(pids, 1);
    EXPECT_LE(pids, 4);
}

// "name RESULT" lines of the syscall probe.
std::map<std::string, std::string> probe_results(const std::string& out) {
    std::map<std::string, std::string> results;
    for (const std::string& l : lines(out)) {
        size_t space = l.find(' ');
        if (space != std::string::npos) results[l.substr(0, space)] = l.substr(space + 1);
    }
    return results;
}

TEST_P(ProviderEnforcementTest, TheSeccompFilterIsWhatRefusesDeniedCalls) {
    ASSERT_TRUE(GetParam().run_unfiltered) << "the target must say how to run without the filter";
    ExecutionResult r = run(external(helper("syscall_probe")));
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    auto filtered = probe_results(r.metadata.stdout_data);
    const std::string unfiltered_out = GetParam().run_unfiltered(helper("syscall_probe"));
    auto unfiltered = probe_results(unfiltered_out);
    ASSERT_FALSE(unfiltered.empty());
    for (const char* name :
         {"unshare", "mount", "ptrace_traceme", "ptrace_attach", "process_vm_readv", "keyctl",
          "add_key", "personality", "finit_module", "init_module", "bpf", "userfaultfd",
          "name_to_handle_at", "clone_newuser", "setns", "clone3", "io_uring_setup", "statmount",
          // Budgets of the whole host no limit bounds (red team, 2026-12-06): fs.aio-max-nr,
          // and the direct map's large pages.
          "io_setup", "memfd_secret",
          "socket_vsock", "socket_packet", "socket_netlink_audit",
          // The red team's attack: unread replies queued on netlink sockets, 8 MiB each, were
          // host memory the sandbox's memory limit never saw (seccomp_policy.hpp).
          "socket_netlink_route",
          // Red team, 2026-12-07: a whiteout planted in an rw= directory; the init's CPU limit
          // set so low that the kernel killed it.
          "mknod_whiteout", "rename_whiteout", "prlimit_set_init",
          // Inode flags left on an rw= directory for what the host makes there later.
          "ioctl_setflags"}) {
        ASSERT_TRUE(filtered.count(name) && unfiltered.count(name))
            << name << "\nfiltered:\n" << r.metadata.stdout_data << "unfiltered:\n" << unfiltered_out;
        EXPECT_NE(filtered[name], "OK") << name << " was allowed";
        // A kernel built without the call (this one has no module loading) has nothing for the
        // filter to refuse.
        if (unfiltered[name] == "ENOSYS") continue;
        if (GetParam().same_answer_without_filter.count(name)) {
            EXPECT_EQ(filtered[name], unfiltered[name]) << name << ": the stated reason is stale";
            continue;
        }
        // The same call, same identity and namespaces, answered otherwise without the filter:
        // the filter is the cause, not a missing capability.
        EXPECT_NE(filtered[name], unfiltered[name])
            << name << ": " << filtered[name] << " with and without the filter\nfiltered:\n"
            << r.metadata.stdout_data << "unfiltered:\n" << unfiltered_out;
    }
    for (const char* name : {"fork", "socketpair_unix", "socket_inet", "prlimit_read_init", "setrlimit_nofile"}) {
        EXPECT_EQ(filtered[name], "OK") << name;
    }
    EXPECT_EQ(filtered["clone3"], "ENOSYS");  // libc falls back to clone, whose flags are checked
    if (GetParam().unix_sockets_inside) {
        EXPECT_EQ(filtered["socket_unix"], "OK");
    } else {
        EXPECT_EQ(filtered["socket_unix"], "EPERM");  // network deny: see seccomp_policy.hpp
        EXPECT_EQ(unfiltered["socket_unix"], "OK");
    }
    if (!GetParam().user_space_kernel) {
        EXPECT_EQ(filtered["personality_query"], "OK");
    }
}

TEST_P(ProviderEnforcementTest, ProgramHasNoPrivileges) {
    ExecutionResult r = run(external("/bin/cat", {"/proc/self/status"}));
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    const std::string& s = r.metadata.stdout_data;
    std::vector<std::string> expected = {"CapInh:\t0000000000000000", "CapPrm:\t0000000000000000",
                                         "CapEff:\t0000000000000000", "CapBnd:\t0000000000000000",
                                         "Seccomp:\t2"};
    if (!GetParam().user_space_kernel) {
        expected.insert(expected.end(), {"CapAmb:\t0000000000000000", "NoNewPrivs:\t1"});
    }
    for (const std::string& line : expected) {
        EXPECT_NE(s.find(line), std::string::npos) << line << "\n" << s;
    }
    // An unprivileged identity, also seen from the host's side of the mapping.
    EXPECT_EQ(s.find("Uid:\t0\t"), std::string::npos) << s;
}

TEST_P(ProviderEnforcementTest, EnvironmentHoldsOnlyWhatWasConfigured) {
    ::setenv("ENFORCEMENT_HOST_SECRET", "leak", 1);
    ExecutionContext ctx = external("/usr/bin/env");
    ctx.config.env_vars = {{"FOO", "bar"}, {"LANG", "C"}};
    ExecutionResult r = run(ctx);
    ::unsetenv("ENFORCEMENT_HOST_SECRET");
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    std::vector<std::string> env = lines(r.metadata.stdout_data);
    std::sort(env.begin(), env.end());
    std::vector<std::string> expected = {"FOO=bar", "LANG=C", "PATH=/usr/local/bin:/usr/bin:/bin"};
    expected.insert(expected.end(), GetParam().runtime_env.begin(), GetParam().runtime_env.end());
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(env, expected);
}

// --- results and metadata ------------------------------------------------------------------------

TEST_P(ProviderEnforcementTest, MissingProgramIsProgramNotFound) {
    ExecutionResult r = run(external("/nonexistent/enforcement-program"));
    EXPECT_EQ(r.status, Status::RuntimeError) << describe(r);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->kind, "program_not_found");
    EXPECT_EQ(r.metadata.exit_code, 127);
}

TEST_P(ProviderEnforcementTest, ExitCodesAndSignalsAreReported) {
    ExecutionResult exited = run(external("/bin/sh", {"-c", "echo out; echo err >&2; exit 3"}));
    EXPECT_EQ(exited.status, Status::RuntimeError) << describe(exited);
    EXPECT_EQ(exited.metadata.exit_code, 3);
    EXPECT_FALSE(exited.metadata.signal);
    EXPECT_EQ(exited.metadata.stdout_data, "out\n");
    EXPECT_EQ(exited.metadata.stderr_data, "err\n");

    ExecutionResult killed = run(external("/bin/sh", {"-c", "kill -SEGV $$"}));
    EXPECT_EQ(killed.status, Status::Killed) << describe(killed);
    EXPECT_EQ(killed.metadata.signal, SIGSEGV);
}

// Output beyond the cap is read and dropped as it comes, never held: 128 MiB on each stream at
// a 64 KiB cap grows this (the host's) process by far less than 64 MiB. Capture that kept
// everything and cut at the end would grow it by the 256 MiB it read (gVisor's pipes take
// about 20 s for 1 GiB here, so not more). The peak (VmHWM) is
// reset first by writing 5 to /proc/self/clear_refs.
TEST_P(ProviderEnforcementTest, OutputBeyondTheCapIsNeverBuffered) {
    ASSERT_TRUE(std::ofstream("/proc/self/clear_refs") << "5");
    const long before_kib = host_peak_rss_kib();
    ASSERT_GT(before_kib, 0);
    ExecutionContext ctx = external(helper("spew"), {std::to_string(128ll << 20)});
    ctx.config.max_output_bytes = 64 * 1024;
    ctx.config.timeout = 60s;
    ExecutionResult r = run(ctx);
    const long grown_kib = host_peak_rss_kib() - before_kib;
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data.size(), 64u * 1024);
    EXPECT_TRUE(r.metadata.stdout_truncated);
    EXPECT_TRUE(r.metadata.stderr_truncated);
    EXPECT_LT(grown_kib, 64 * 1024) << "the host grew by " << grown_kib << " KiB";
}

TEST_P(ProviderEnforcementTest, MetadataIsMeasured) {
    ExecutionContext ctx = external(helper("busy"), {"200"});
    ExecutionResult r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_GE(r.metadata.duration, 200ms);
    EXPECT_LT(r.metadata.duration, 10s);
    ASSERT_TRUE(r.metadata.cpu_time);
    EXPECT_GT(*r.metadata.cpu_time, 50ms);  // the loop spins, the clock says so
    ASSERT_TRUE(r.metadata.memory_peak_mb);
    EXPECT_GT(*r.metadata.memory_peak_mb, 0.0);
    EXPECT_LT(*r.metadata.memory_peak_mb, 100.0);
    EXPECT_EQ(r.metadata.exit_code, 0);
    EXPECT_EQ(r.metadata.provider, GetParam().name);
}

// --- scripts -------------------------------------------------------------------------------------

TEST_P(ProviderEnforcementTest, ShellScriptsRunWithTheirArguments) {
    ExecutionContext ctx;
    ctx.program =
        microvm::ScriptSource{"sh", "echo $((1 + 2)); echo \"$1\"; read x || echo stdin-empty"};
    ctx.args = {"hello"};
    ExecutionResult r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data, "3\nhello\nstdin-empty\n");
}

TEST_P(ProviderEnforcementTest, PythonScriptsRunWithFsNone) {
    MICROVM_REQUIRE("python3", fs::exists("/usr/bin/python3"), "no /usr/bin/python3");
    ExecutionContext ctx;
    ctx.program = microvm::ScriptSource{"python3",
                                        "import os, sys\nprint(sum(range(10)))\n"
                                        "print(os.path.exists('/etc/passwd'))"};
    ExecutionResult r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data, "45\nFalse\n");
}

TEST_P(ProviderEnforcementTest, UnknownScriptLanguagesAreInvalidInput) {
    ExecutionContext ctx;
    ctx.program = microvm::ScriptSource{"cobol", "DISPLAY 'HI'."};
    EXPECT_EQ(run(ctx).status, Status::InvalidInput);
}

// --- RTFS through the guest runner ---------------------------------------------------------------

TEST_P(ProviderEnforcementTest, RtfsRunsInsideTheSandbox) {
    MICROVM_REQUIRE("guest-runner", microvm::guest::find_guest_runner(), "not built");
    ExecutionContext ctx;
    ctx.program = microvm::RtfsSource{"(+ 1 2)"};
    ExecutionResult r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.value, "3");

    ctx.program = microvm::RtfsSource{"(/ 1 0)"};
    r = run(ctx);
    EXPECT_EQ(r.status, Status::RuntimeError) << describe(r);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->kind, "DivisionByZero");

    ctx.program = microvm::RtfsSource{"(call :ccos.io.println \"hi\")"};
    r = run(ctx);
    EXPECT_EQ(r.status, Status::PolicyViolation) << describe(r);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->kind, "SecurityViolation");
}

TEST_P(ProviderEnforcementTest, RtfsFileCapabilitiesStayInsideTheSandbox) {
    MICROVM_REQUIRE("guest-runner", microvm::guest::find_guest_runner(), "not built");
    ExecutionContext ctx;
    ctx.program = microvm::RtfsSource{"(read-file \"" + host_file() + "\")"};
    ctx.runtime_context = rtfs::RuntimeContext::full();
    ExecutionResult r = run(ctx);
    // fs none: the host file is not there (the capability ran, inside the sandbox).
    EXPECT_EQ(r.status, Status::RuntimeError) << describe(r);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->kind, "CapabilityError");
    EXPECT_NE(r.error->message.find("No such file or directory"), std::string::npos)
        << r.error->message;
    EXPECT_FALSE(r.value &&
                 r.value->find(read_file(host_file()).substr(0, 8)) != std::string::npos);

    ctx.config.fs_policy = FileSystemPolicy::read_only({"/etc"});  // now it is bound
    r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    ASSERT_TRUE(r.value);
    std::string first_line = lines(read_file(host_file())).front();  // the value is escaped
    EXPECT_NE(r.value->find(first_line.substr(0, 8)), std::string::npos) << *r.value;
}

TEST_P(ProviderEnforcementTest, RtfsOutputIsCaptured) {
    MICROVM_REQUIRE("guest-runner", microvm::guest::find_guest_runner(), "not built");
    ExecutionContext ctx;
    ctx.program = microvm::RtfsSource{"(do (call :ccos.io.println \"hi\") 42)"};
    ctx.runtime_context = rtfs::RuntimeContext::controlled({"ccos.io.println"});
    ExecutionResult r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.value, "42");
    EXPECT_EQ(r.metadata.stdout_data, "hi\n");
}

// --- streaming, cancellation, lifecycle ------------------------------------------------------------

TEST_P(ProviderEnforcementTest, OutputStreamsWhileTheProgramRuns) {
    using Clock = std::chrono::steady_clock;
    std::mutex mu;
    std::vector<std::pair<Clock::time_point, std::string>> chunks;
    ExecutionContext ctx = external("/bin/sh", {"-c", "echo first; echo oops >&2; sleep 1; echo second"});
    ctx.config.fs_policy = FileSystemPolicy::read_only();  // sleep
    ctx.on_output = [&](microvm::OutputStream stream, std::string_view chunk) {
        std::lock_guard lock(mu);
        chunks.emplace_back(Clock::now(),
                            (stream == microvm::OutputStream::Stdout ? "out:" : "err:") +
                                std::string(chunk));
    };
    ExecutionResult r = run(ctx);
    const auto ended = Clock::now();
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    ASSERT_FALSE(chunks.empty());
    EXPECT_EQ(chunks.front().second, "out:first\n");
    // The first chunk came while the program still slept, not with the result.
    EXPECT_GT(ended - chunks.front().first, 700ms);
    std::string out, err;
    for (const auto& [when, text] : chunks) (text.starts_with("out:") ? out : err) += text.substr(4);
    EXPECT_EQ(out, "first\nsecond\n");
    EXPECT_EQ(err, "oops\n");
    EXPECT_EQ(r.metadata.stdout_data, out);  // the result still holds it all
}

TEST_P(ProviderEnforcementTest, StreamedOutputKeepsTheCaps) {
    std::string streamed;
    ExecutionContext ctx = external(helper("spew"), {std::to_string(1 << 20)});
    ctx.config.max_output_bytes = 1000;
    ctx.on_output = [&](microvm::OutputStream stream, std::string_view chunk) {
        if (stream == microvm::OutputStream::Stdout) streamed += chunk;
    };
    ExecutionResult r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(streamed.size(), 1000u);
    EXPECT_TRUE(r.metadata.stdout_truncated);
}

TEST_P(ProviderEnforcementTest, CancellingEndsTheRunPromptlyWithNothingLeft) {
    microvm::CancelSource cancel;  // its descriptor lives through the test
    HostSnapshot before = take_snapshot();
    const std::string marker = unique_marker();
    ExecutionContext ctx =
        external("/bin/sh", {"-c", helper("daemonize") + " " + marker + "; sleep 30"});
    ctx.config.fs_policy = FileSystemPolicy::read_only({"/bin", "/usr", "/lib", "/lib64",
                                                        fs::path(helper("daemonize")).parent_path()});
    ctx.config.timeout = 60s;
    ctx.cancel = cancel.token();
    std::atomic<bool> started{false};  // set on the executing thread
    ctx.on_output = [&](microvm::OutputStream, std::string_view chunk) {
        if (chunk.find("daemon started") != std::string_view::npos) started = true;
    };
    ExecutionResult r;
    std::chrono::steady_clock::time_point cancelled_at;
    std::thread runner([&] { r = run(ctx); });
    while (!started) std::this_thread::sleep_for(5ms);  // the daemon is up
    std::this_thread::sleep_for(50ms);
    cancelled_at = std::chrono::steady_clock::now();
    cancel.cancel();
    runner.join();
    const auto took = std::chrono::steady_clock::now() - cancelled_at;
    EXPECT_EQ(r.status, Status::Killed) << describe(r);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->reason, microvm::Reason::Cancelled);
    // Long before the program's 30 s; not a speed figure (those are benchmarks): gvisor's
    // teardown of its sentry and gofer took 10-25 ms here but over 100 ms once in CI.
    EXPECT_LT(took, 1s) << "cancel took too long";
    EXPECT_TRUE(processes_with_marker(marker).empty());
    expect_same_host_state(before, take_snapshot());
}

TEST_P(ProviderEnforcementTest, CleanupCancelsRunningExecutionsAndWaitsForThem) {
    HostSnapshot before = take_snapshot();
    std::vector<ExecutionResult> results(3);
    std::vector<std::thread> runners;
    std::atomic<int> running{0};  // programs that said they run
    for (auto& result : results) {
        runners.emplace_back([&] {
            ExecutionContext ctx;
            ctx.program = microvm::ScriptSource{"sh", "echo up; while :; do :; done"};
            ctx.config.timeout = 60s;
            ctx.on_output = [&](microvm::OutputStream, std::string_view chunk) {
                if (chunk.find("up") != std::string_view::npos) ++running;
            };
            result = run(ctx);
        });
    }
    // All three are running (a sleep was not enough on a loaded host: a sandbox built ahead
    // was still being prepared, and its launch came after the cleanup).
    const auto give_up = std::chrono::steady_clock::now() + 30s;
    while (running < 3 && std::chrono::steady_clock::now() < give_up) std::this_thread::sleep_for(10ms);
    EXPECT_EQ(running, 3) << "not all three programs ran within 30 s";
    provider().cleanup();  // cancels them and waits for them to end
    for (std::thread& t : runners) t.join();
    for (const ExecutionResult& result : results) {
        EXPECT_EQ(result.status, Status::Killed) << describe(result);
        ASSERT_TRUE(result.error);
        EXPECT_EQ(result.error->reason, microvm::Reason::Cancelled);
    }
    // A provider cleaned up runs nothing until it is initialized again.
    ExecutionResult after = run(external("/bin/true"));
    EXPECT_EQ(after.status, Status::Unavailable) << describe(after);
    ASSERT_TRUE(provider().initialize(GetParam().settings));
    EXPECT_EQ(run(external("/bin/true")).status, Status::Ok);
    expect_same_host_state(before, take_snapshot());
}

// --- nothing leaks -------------------------------------------------------------------------------

TEST_P(ProviderEnforcementTest, DaemonsDieWithTheExecution) {
    std::string marker = unique_marker();
    ExecutionResult r = run(external(helper("daemonize"), {marker}));
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    ASSERT_EQ(r.metadata.stdout_data, "daemon started\n");  // it was there to be killed
    EXPECT_TRUE(processes_with_marker(marker).empty());
}

TEST_P(ProviderEnforcementTest, SequentialExecutionsLeaveNothingBehind) {
    HostSnapshot before = take_snapshot();
    for (int i = 0; i < GetParam().sequential_runs; ++i) {
        ExecutionResult r = run(external("/bin/true"));
        ASSERT_EQ(r.status, Status::Ok) << "run " << i << ": " << describe(r);
    }
    expect_same_host_state(before, take_snapshot());
}

TEST_P(ProviderEnforcementTest, ConcurrentExecutionsLeaveNothingBehind) {
    HostSnapshot before = take_snapshot();
    std::string marker = unique_marker();
    std::atomic<int> ok{0}, timeouts{0}, failures{0}, next{0};
    const int total = GetParam().concurrent_runs;
    auto one = [&](int i) {
        ExecutionContext ctx;
        Status expected = Status::Ok;
        switch (i % 5) {
            case 0:
                ctx = external("/bin/true");
                break;
            case 1:
                ctx = external("/bin/sh", {"-c", "exit 3"});
                expected = Status::RuntimeError;
                break;
            case 2:
                ctx = external("/bin/sleep", {"10"});
                ctx.config.timeout = 500ms;
                expected = Status::Timeout;
                break;
            case 3:
                ctx = external(helper("daemonize"), {marker});
                break;
            case 4:
                ctx = external(helper("spew"), {"100000"});
                break;
        }
        ExecutionResult r = run(ctx);
        if (r.status == expected) {
            (expected == Status::Timeout ? timeouts : ok)++;
        } else {
            failures++;
            ADD_FAILURE() << "execution " << i << ": " << describe(r);
        }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < std::min(total, GetParam().max_parallel); ++t) {
        threads.emplace_back([&] {
            for (int i = next++; i < total; i = next++) one(i);
        });
    }
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(timeouts.load(), (total + 2) / 5);
    EXPECT_TRUE(processes_with_marker(marker).empty());
    expect_same_host_state(before, take_snapshot());
}

}  // namespace enforcement
