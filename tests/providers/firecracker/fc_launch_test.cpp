// How a Firecracker VM is launched: finding the binaries (trusted, from settings or PATH), the
// KVM probe, the availability reason, and the exact command lines with and without the jailer.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <chrono>

#include "firecracker/fc_api_client.hpp"
#include "host/kvm_device.hpp"
#include "firecracker/fc_launch.hpp"
#include "firecracker/fc_process.hpp"
#include "firecracker/firecracker_backend.hpp"
#include "host/paths.hpp"
#include "host/trusted_state.hpp"
#include "support/expectations.hpp"
#include "support/trusted_temp.hpp"

namespace {

using namespace microvm::firecracker;
using microvm::Availability;
namespace fs = std::filesystem;

// A directory the host trusts (root-owned, 0700, under /run or $HOME), removed afterwards.
class TrustedDir {
  public:
    TrustedDir() {
        std::string tmpl = (testsupport::trusted_temp_base() / "fc-launch-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp " + tmpl);
        path_ = tmpl;
    }
    ~TrustedDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    std::string executable(const std::string& name, mode_t mode = 0755) {
        std::string p = path_ + "/" + name;
        std::ofstream(p) << "#!/bin/sh\nexit 1\n";
        ::chmod(p.c_str(), mode);
        return p;
    }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

std::string host_path_env() {
    const char* p = std::getenv("PATH");
    return p ? p : "";
}

TEST(FcLaunch, ThisMachineReportsWhatIsMissing) {
    // The real check, as the provider will make it. On this project's machines there is no
    // firecracker binary and no KVM: both must be named, the binary first.
    Availability a = check_availability(FcLaunchSettings{}, host_path_env());
    bool binary_here = !microvm::host::find_in_dirs("firecracker", {"/usr/local/bin", "/usr/bin"}).empty();
    if (!binary_here && host_path_env().find("firecracker") == std::string::npos) {
        EXPECT_FALSE(a.available);
        EXPECT_EQ(a.reason.rfind("firecracker binary not found", 0), 0u) << a.reason;
    }
    if (!microvm::host::probe_kvm_device().usable) {
        EXPECT_FALSE(a.available);
        EXPECT_NE(a.reason.find("/dev/kvm"), std::string::npos) << a.reason;
    }
    if (a.available) {
        EXPECT_TRUE(a.reason.empty());
    }
}

TEST(FcLaunch, KvmProbeNamesTheFailingStep) {
    using microvm::host::KvmDevice;
    using microvm::host::probe_kvm_device;
    KvmDevice missing = probe_kvm_device("/nonexistent/kvm");
    EXPECT_FALSE(missing.usable);
    EXPECT_EQ(missing.reason, "/nonexistent/kvm cannot be opened: No such file or directory");
    KvmDevice not_kvm = probe_kvm_device("/dev/null");
    EXPECT_FALSE(not_kvm.usable);
    EXPECT_NE(not_kvm.reason.find("/dev/null is not a KVM device (KVM_GET_API_VERSION"),
              std::string::npos)
        << not_kvm.reason;
    // What could be planted at the device's path: a FIFO (no writer ever comes) and a file.
    TrustedDir dir;
    const std::string fifo = dir.path() + "/kvm-fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    const std::string file = dir.executable("kvm-file", 0600);
    for (const std::string& planted : {fifo, file}) {
        const auto started = std::chrono::steady_clock::now();
        KvmDevice probed = probe_kvm_device(planted);
        EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2)) << planted;
        EXPECT_FALSE(probed.usable) << planted;
        EXPECT_NE(probed.reason.find(planted + " is not a KVM device (KVM_GET_API_VERSION"), std::string::npos)
            << probed.reason;
    }
}

TEST(FcLaunch, ConfiguredBinaryMustBeAbsoluteAndTrusted) {
    FcLaunchSettings s;
    s.binary = "bin/firecracker";
    Availability a = check_availability(s, "", "/nonexistent/kvm");
    EXPECT_FALSE(a.available);
    EXPECT_NE(a.reason.find("must be an absolute path"), std::string::npos) << a.reason;

    TrustedDir dir;
    s.binary = dir.executable("firecracker");
    a = check_availability(s, "", "/nonexistent/kvm");
    EXPECT_FALSE(a.available);
    // The binary is fine now: only KVM is missing.
    EXPECT_EQ(a.reason, "/nonexistent/kvm cannot be opened: No such file or directory");

    ::chmod(s.binary.c_str(), 0777);
    auto writable = find_binaries(s, "");
    ASSERT_FALSE(writable.has_value());
    EXPECT_NE(writable.error().message.find("writable by others"), std::string::npos)
        << writable.error().message;
}

TEST(FcLaunch, PathSearchFindsFirecrackerAndTheJailer) {
    TrustedDir dir;
    std::string fc = dir.executable("firecracker");
    FcLaunchSettings s;
    auto unjailed = find_binaries(s, "relative/dir:" + dir.path());
    ASSERT_TRUE(unjailed.has_value()) << unjailed.error().message;
    EXPECT_EQ(unjailed->firecracker, fs::canonical(fc).string());
    EXPECT_EQ(unjailed->jailer, "");

    std::string jailer = dir.executable("jailer");
    auto jailed = find_binaries(s, dir.path());
    ASSERT_TRUE(jailed.has_value()) << jailed.error().message;
    EXPECT_EQ(jailed->jailer, fs::canonical(jailer).string());

    s.use_jailer = false;
    EXPECT_EQ(find_binaries(s, dir.path())->jailer, "");

    s.use_jailer = true;
    ::chmod(jailer.c_str(), 0777);  // a jailer anyone could replace is refused, not skipped
    EXPECT_FALSE(find_binaries(s, dir.path()).has_value());
}

bool has_arg(const LaunchPlan& p, const std::string& arg) {
    return std::find(p.argv.begin(), p.argv.end(), arg) != p.argv.end();
}

TEST(FcLaunch, UnjailedCommandLine) {
    FcBinaries b{"/opt/fc/firecracker", ""};
    auto plan = plan_launch(b, FcLaunchSettings{}, "vm-7", "/run/microvm/fc/vm-7");
    ASSERT_TRUE(plan.has_value()) << plan.error().message;
    EXPECT_FALSE(plan->jailed);
    EXPECT_EQ(plan->executable, "/opt/fc/firecracker");
    EXPECT_EQ(plan->argv, (std::vector<std::string>{"/opt/fc/firecracker", "--api-sock",
                                                    "/run/microvm/fc/vm-7/api.sock", "--id",
                                                    "vm-7"}));
    EXPECT_TRUE(plan->env.empty());
    EXPECT_EQ(plan->api_socket, "/run/microvm/fc/vm-7/api.sock");
    EXPECT_EQ(plan->host_path("/run/microvm/fc/vm-7/v.sock"), "/run/microvm/fc/vm-7/v.sock");
    EXPECT_FALSE(has_arg(*plan, "--no-seccomp"));
}

TEST(FcLaunch, JailedCommandLine) {
    FcBinaries b{"/opt/fc/firecracker-v1.9", "/opt/fc/jailer"};
    FcLaunchSettings s;
    s.jail_uid = 1234;
    s.jail_gid = 2345;
    s.chroot_base = "/srv/jail";
    s.netns = "/var/run/netns/vm-7";
    auto plan = plan_launch(b, s, "vm-7", "/unused");
    ASSERT_TRUE(plan.has_value()) << plan.error().message;
    EXPECT_TRUE(plan->jailed);
    EXPECT_EQ(plan->executable, "/opt/fc/jailer");
    EXPECT_EQ(plan->argv,
              (std::vector<std::string>{"/opt/fc/jailer", "--id", "vm-7", "--exec-file",
                                        "/opt/fc/firecracker-v1.9", "--uid", "1234", "--gid",
                                        "2345", "--chroot-base-dir", "/srv/jail", "--netns",
                                        "/var/run/netns/vm-7", "--", "--api-sock", "/api.sock"}));
    EXPECT_EQ(plan->jail_dir, "/srv/jail/firecracker-v1.9/vm-7");
    EXPECT_EQ(plan->jail_root, "/srv/jail/firecracker-v1.9/vm-7/root");
    EXPECT_EQ(plan->api_socket, "/srv/jail/firecracker-v1.9/vm-7/root/api.sock");
    EXPECT_EQ(plan->host_path("/v.sock"), "/srv/jail/firecracker-v1.9/vm-7/root/v.sock");
    EXPECT_TRUE(plan->env.empty());
    EXPECT_FALSE(has_arg(*plan, "--no-seccomp"));
    EXPECT_FALSE(has_arg(*plan, "--daemonize"));
}

TEST(FcLaunch, RefusesWhatTheJailerOrTheSocketCannotTake) {
    FcBinaries plain{"/opt/fc/firecracker", ""};
    for (const char* id : {"", "vm/../../etc", "vm 1", "vm_1"}) {
        auto bad = plan_launch(plain, FcLaunchSettings{}, id, "/run/x");
        ASSERT_FALSE(bad.has_value()) << id;
        EXPECT_EQ(bad.error().kind, microvm::Failure::Kind::InvalidInput);
    }
    EXPECT_FALSE(plan_launch(plain, {}, std::string(65, 'a'), "/run/x").has_value());
    EXPECT_TRUE(plan_launch(plain, {}, std::string(64, 'a'), "/run/x").has_value());

    auto long_socket = plan_launch(plain, {}, "vm", "/run/" + std::string(120, 'd'));
    ASSERT_FALSE(long_socket.has_value());
    EXPECT_NE(long_socket.error().message.find("longer than 107 bytes"), std::string::npos);

    FcBinaries renamed{"/opt/fc/vmm", "/opt/fc/jailer"};
    auto refused = plan_launch(renamed, {}, "vm", "/run/x");
    ASSERT_FALSE(refused.has_value());
    EXPECT_NE(refused.error().message.find("contains 'firecracker'"), std::string::npos);
}

TEST(FcLaunch, VmDirectoryIsPrivateAndNew) {
    TrustedDir parent;
    auto dir = make_vm_dir(parent.path(), "vm-1");
    ASSERT_TRUE(dir.has_value()) << dir.error().message;
    struct stat st {};
    ASSERT_EQ(::stat(dir->c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    EXPECT_FALSE(make_vm_dir(parent.path(), "vm-1").has_value());  // never reuses a directory
    EXPECT_FALSE(make_vm_dir(parent.path(), "../escape").has_value());
}

// The attack (red team, 2026-12-06): a state_dir that exists already was taken as it was found,
// another user's or one anybody may write, where the VM's directory and its API socket could be
// swapped for theirs. Refused now, before anything is made in it.
TEST(FcLaunch, AStateDirOthersMayChangeIsRefused) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "giving a directory to another user needs root");
    TrustedDir base;
    const std::string others = base.path() + "/others";
    ASSERT_EQ(::mkdir(others.c_str(), 0700), 0);
    ASSERT_EQ(::chown(others.c_str(), 12345, 12345), 0);
    auto refused = make_vm_dir(others, "vm-1");
    ASSERT_FALSE(refused.has_value()) << "a state directory of uid 12345 was accepted";
    EXPECT_NE(refused.error().message.find("state_dir"), std::string::npos) << refused.error().message;
    EXPECT_FALSE(fs::exists(others + "/vm-1"));
    const std::string open_to_all = base.path() + "/open";
    ASSERT_EQ(::mkdir(open_to_all.c_str(), 0700), 0);
    ASSERT_EQ(::chmod(open_to_all.c_str(), 0777), 0);
    EXPECT_FALSE(make_vm_dir(open_to_all, "vm-1").has_value());
    EXPECT_FALSE(fs::exists(open_to_all + "/vm-1"));
    // Control: one missing is made, private.
    auto made = make_vm_dir(base.path() + "/state", "vm-1");
    ASSERT_TRUE(made.has_value()) << made.error().message;
    struct stat st {};
    ASSERT_EQ(::stat((base.path() + "/state").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
}

// Firecracker ties the guest's serial console to its stdout and reads its stdin: started with
// the host's own, a guest wrote past every output cap into the CLI's stdout (ahead of its --json
// result) or microvmd's journal, and read the caller's terminal (red team, 2026-12-05). The VMM
// gets /dev/null on 0, 1 and 2 and no other descriptor of the host's (one left inheritable
// here), and dies and is reaped with its owner.
TEST(FcProcess, TheVmmGetsNothingOfTheHosts) {
    const int inheritable = ::open("/dev/zero", O_RDONLY);  // no O_CLOEXEC
    ASSERT_GE(inheritable, 0);
    LaunchPlan plan;
    plan.executable = "/bin/sleep";
    plan.argv = {"/bin/sleep", "30"};
    pid_t pid = -1;
    {
        FcProcess proc;
        auto started = start_vmm(plan, proc);
        ::close(inheritable);
        ASSERT_TRUE(started) << started.error().message;
        pid = proc.vmm.pid();
        const std::map<std::string, std::string> expected = {{"0", "/dev/null"}, {"1", "/dev/null"}, {"2", "/dev/null"}};
        std::map<std::string, std::string> fds;
        // Its dynamic loader opens its libraries for a moment after the exec: once it settled.
        for (int i = 0; i < 100 && fds != expected; ++i) {
            if (i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
            fds.clear();
            std::error_code ec;
            for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec))
                fds[e.path().filename().string()] = fs::read_symlink(e.path(), ec).string();
        }
        EXPECT_EQ(fds, expected);
    }
    EXPECT_NE(::kill(pid, 0), 0) << "the VMM outlived its owner";
}

// The attack (red team, 2026-12-06): the jailer's base was Firecracker's /srv/jailer, which no
// run protects; a process sandbox given rw=/srv planted the next VM's <base>/firecracker/<id>/root
// as a symlink to /etc, which the jailer then chowned to the jail's uid. The base is a protected
// state place now, and a backend with another one is refused.
TEST(FcLaunch, TheJailsLieInAProtectedStatePlace) {
    EXPECT_TRUE(microvm::host::protected_by_name(FcLaunchSettings{}.chroot_base)) << FcLaunchSettings{}.chroot_base;
    FcProviderSettings s;
    s.launch.chroot_base = "/srv/jailer";
    auto refused = FirecrackerBackend::create(s);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("setting chroot_base '/srv/jailer'"), std::string::npos)
        << refused.error().message;
}

// A jail that exists already was not made for this VM (a planted one, or another's): neither
// used nor removed. One made for it goes with it, after the VMM is reaped (the jailer leaves its
// tree to its caller: each run left ~20 MB and a jail behind, red team 2026-12-06).
TEST(FcProcess, AJailIsNeverReusedAndGoesWithItsVm) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "a jailed VMM runs in a pid namespace of its own");
    TrustedDir base;
    LaunchPlan plan;
    plan.jailed = true;
    plan.jail_dir = base.path() + "/firecracker/vm-1";
    plan.jail_root = plan.jail_dir + "/root";
    plan.executable = "/bin/sh";
    // As the jailer: makes the jail, drops its uid, and becomes the VMM.
    plan.argv = {"/bin/sh", "-c",
                 "mkdir -p " + plan.jail_root + " && ln -s /etc " + plan.jail_root + "/link && echo x > " +
                     plan.jail_root + "/vmlinux && exec /usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups sleep 30"};
    {
        FcProcess proc;
        auto started = start_vmm(plan, proc);
        ASSERT_TRUE(started) << started.error().message;
        for (int i = 0; i < 200 && !fs::exists(plan.jail_root + "/vmlinux"); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        ASSERT_TRUE(fs::exists(plan.jail_root + "/vmlinux"));
        // In a pid namespace of its own, whose init dies with the host (the jailer's uid drop
        // clears its own death signal: host/child_process.hpp).
        EXPECT_NE(fs::read_symlink("/proc/" + std::to_string(proc.vmm.pid()) + "/ns/pid"),
                  fs::read_symlink("/proc/self/ns/pid"));

        FcProcess second;
        auto reused = start_vmm(plan, second);
        ASSERT_FALSE(reused);
        EXPECT_NE(reused.error().message.find("exists already"), std::string::npos) << reused.error().message;
        EXPECT_FALSE(second.vmm.running());
    }  // second goes first: the jail is not its to remove
    EXPECT_FALSE(fs::exists(plan.jail_dir)) << "the jail outlived its VM";
    EXPECT_TRUE(fs::exists("/etc/passwd"));
    EXPECT_TRUE(fs::exists(base.path() + "/firecracker"));
}

// A VMM (or jailer) that exits before its API socket answers is reported at once with its
// exit, not waited for to the end of the API's 10 s.
TEST(FcProcess, AVmmThatExitsAtOnceIsNotWaitedFor) {
    TrustedDir dir;
    LaunchPlan plan;
    plan.executable = "/bin/sh";
    plan.argv = {"/bin/sh", "-c", "exit 3"};
    FcProcess proc;
    ASSERT_TRUE(start_vmm(plan, proc));
    FcApiClient client(dir.path() + "/api.sock");
    const auto started = std::chrono::steady_clock::now();
    auto ready = wait_for_api(client, proc, microvm::CancelToken{});
    const auto took = std::chrono::steady_clock::now() - started;
    ASSERT_FALSE(ready);
    EXPECT_NE(ready.error().message.find("exited with code 3 before its API answered"), std::string::npos)
        << ready.error().message;
    EXPECT_LT(took, std::chrono::seconds(5));
}

}  // namespace
