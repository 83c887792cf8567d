#include "vm_mode.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/random.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/mount.h>

#include <string_view>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <linux/vm_sockets.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "channel.hpp"
#include "channel_mode.hpp"
#include "exec_run.hpp"
#include "host/mount_point.hpp"
#include "host/unique_fd.hpp"
#include "io.hpp"
#include "run_cgroup.hpp"
#include "rtfs/interpreter.hpp"
#include "host/cgroup_fs.hpp"
#include "host/interface_ioctl.hpp"
#include "host/dir_stream.hpp"

namespace microvm::guest {
namespace {

constexpr const char* kCgroupRoot = "/sys/fs/cgroup";
constexpr const char* kPortName = "agent";
constexpr auto kPortWait = std::chrono::seconds(10);

void log(const std::string& what) { std::fprintf(stderr, "microvm-guest: %s\n", what.c_str()); }

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

bool mount_fs(const char* source, const char* target, const char* type, unsigned long flags,
              const char* data = nullptr) {
    ::mkdir(target, 0755);
    if (::mount(source, target, type, flags, data) == 0 || errno == EBUSY) return true;
    log(errno_text(std::string("mount ") + type + " on " + target));
    return false;
}

[[noreturn]] void end_vm() {
    ::sync();
    ::reboot(RB_AUTOBOOT);  // reboot=t + -no-reboot: QEMU exits
    for (;;) ::pause();
}

// The /dev path of the virtio-serial port with this name, waiting for it to appear.
std::string find_port(const char* name) {
    const auto until = std::chrono::steady_clock::now() + kPortWait;
    do {
        for (const std::string& port : host::entry_names("/sys/class/virtio-ports")) {
            std::ifstream in("/sys/class/virtio-ports/" + port + "/name");
            std::string got;
            std::getline(in, got);
            if (got == name) return "/dev/" + port;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    } while (std::chrono::steady_clock::now() < until);
    return {};
}

void loopback_up() {
    host::UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock.valid() || !host::set_interface_up(sock.get(), "lo")) log(errno_text("bringing up lo"));
}

// QEMU's user networking: the guest is 10.0.2.15/24, the gateway 10.0.2.2, DNS 10.0.2.3.
// proxy_only (allow/block lists): the address alone; the link's only other end is the host's
// egress proxy at 10.0.2.2:3128, and without a route any other address fails at once
// (ENETUNREACH) instead of waiting on packets nothing answers.
constexpr uint32_t kGuestIp = 0x0A00020Fu;    // 10.0.2.15
constexpr uint32_t kGatewayIp = 0x0A000202u;  // 10.0.2.2

std::string configure_network(bool proxy_only) {
    host::UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock.valid()) return errno_text("socket");
    if (!host::set_interface_ipv4(sock.get(), "eth0", SIOCSIFADDR, kGuestIp) ||
        !host::set_interface_ipv4(sock.get(), "eth0", SIOCSIFNETMASK, 0xFFFFFF00u) ||
        !host::set_interface_up(sock.get(), "eth0")) {
        return errno_text("configuring eth0");
    }
    if (proxy_only) return {};
    if (!host::add_ipv4_route(sock.get(), nullptr, 0, 0, kGatewayIp) && errno != EEXIST) {
        return errno_text("adding the default route");
    }
    std::ofstream("/etc/resolv.conf") << "nameserver 10.0.2.3\n";
    return {};
}

int hex_value(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

std::string reseed(const std::string& hex) {
    const size_t n = hex.size() / 2;
    std::vector<unsigned char> buf(sizeof(rand_pool_info) + n);
    auto* info = reinterpret_cast<rand_pool_info*>(buf.data());
    info->entropy_count = static_cast<int>(n * 8);
    info->buf_size = static_cast<int>(n);
    auto* bytes = reinterpret_cast<unsigned char*>(info->buf);
    for (size_t i = 0; i < n; ++i) {
        bytes[i] = static_cast<unsigned char>(hex_value(hex[2 * i]) << 4 | hex_value(hex[2 * i + 1]));
    }
    host::UniqueFd fd(::open("/dev/urandom", O_WRONLY | O_CLOEXEC));
    if (!fd.valid()) return errno_text("opening /dev/urandom");
    if (::ioctl(fd.get(), RNDADDENTROPY, info) != 0) return errno_text("RNDADDENTROPY");
    // A restored guest's generator holds the template's state: reseed it now, not in a minute.
    if (::ioctl(fd.get(), RNDRESEEDCRNG) != 0) return errno_text("RNDRESEEDCRNG");
    return {};
}

// Firecracker has no virtio-serial: its provider boots with microvm.agent_vsock_port=N on the
// kernel command line (a dotted word the kernel keeps to itself), and the agent serves the
// first connection to that vsock port.
unsigned vsock_port_from_cmdline() {
    std::ifstream in("/proc/cmdline");
    std::string word;
    const std::string key = "microvm.agent_vsock_port=";
    while (in >> word) {
        if (word.rfind(key, 0) == 0) return static_cast<unsigned>(std::strtoul(word.c_str() + key.size(), nullptr, 10));
    }
    return 0;
}

int accept_vsock(unsigned port) {
    host::UniqueFd listener(::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_vm addr{};
    addr.svm_family = AF_VSOCK;
    addr.svm_cid = VMADDR_CID_ANY;
    addr.svm_port = port;
    if (!listener.valid() || ::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener.get(), 1) != 0) {
        log(errno_text("listening on vsock port " + std::to_string(port)));
        return -1;
    }
    return ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC);
}

}  // namespace

namespace {
bool vm_init = false;
}

// pid 1 alone is not a VM: a container runtime (gVisor) starts the agent as its pid 1 too. The
// image puts the agent at /init (or /agent, exec'd by the fallback image's busybox /init), and
// a container never runs it under those names.
bool detect_vm_init(const char* argv0) {
    const std::string_view name = argv0 ? argv0 : "";
    vm_init = ::getpid() == 1 && (name == "/init" || name == "/agent");
    return vm_init;
}

bool is_vm_init() { return vm_init; }

namespace {
uint32_t g_program_uid = 65534;
}  // namespace

uint32_t program_uid() { return g_program_uid; }

bool set_program_uid(uint32_t uid) {
    if (uid == 0) return false;
    g_program_uid = uid;
    return true;
}

std::string apply_setup(const Setup& setup) {
    if (!is_vm_init()) return "Setup is for the agent of a VM (its init)";
    set_program_uid(setup.program_uid == 0 ? 65534 : setup.program_uid);
    if (setup.realtime_ns) {
        timespec ts{static_cast<time_t>(setup.realtime_ns / 1'000'000'000u),
                    static_cast<long>(setup.realtime_ns % 1'000'000'000u)};
        if (::clock_settime(CLOCK_REALTIME, &ts) != 0) return errno_text("setting the clock");
    }
    if (!setup.seed_hex.empty()) {
        if (std::string e = reseed(setup.seed_hex); !e.empty()) return e;
    }
    for (const Share& s : setup.shares) {
        // Onto the directory opened without following symlinks (host/mount_point.hpp): a nested
        // share's mount point lies in a live host directory.
        auto point = host::open_mount_point(s.path);
        if (!point) return point.error().message;
        unsigned long flags = MS_NOSUID | MS_NODEV | (s.writable ? 0 : MS_RDONLY);
        if (::mount(s.tag.c_str(), host::mount_target(*point).c_str(), "9p", flags,
                    "trans=virtio,version=9p2000.L,msize=131072,cache=none") != 0) {
            return errno_text("mounting share " + s.tag + " on " + s.path);
        }
    }
    if (setup.network) {
        if (std::string e = configure_network(setup.proxy_only); !e.empty()) return e;
    }
    return {};
}

void run_vm_mode() {
    ::setsid();
    mount_fs("devtmpfs", "/dev", "devtmpfs", MS_NOSUID);
    mount_fs("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
    mount_fs("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC);
    mount_fs("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
    if (mount_fs("cgroup2", kCgroupRoot, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC)) {
        if (auto on = host::cgroupfs::write_file("/sys/fs/cgroup/cgroup.subtree_control", "+memory"))
            set_vm_cgroup_root(kCgroupRoot);
        else
            log("enabling the memory controller: " + on.error().message);
    }
    loopback_up();
    ::setenv("PATH", "/bin", 1);
    // pid 1 must reap every orphan; the runs wait for their own child by pid.
    struct sigaction sa{};
    sa.sa_handler = SIG_DFL;
    sa.sa_flags = SA_NOCLDSTOP;
    ::sigaction(SIGCHLD, &sa, nullptr);

    // Deterministic tables every RTFS run builds on first use (the builtins, sorted): built once
    // here, each run's process inherits them.
    (void)rtfs::all_builtins();
    if (unsigned vport = vsock_port_from_cmdline()) {
        int fd = accept_vsock(vport);
        if (fd < 0) end_vm();
        prepare_next_run(fd);
        run_channel_mode(Channel::adopt(fd));
        end_vm();
    }
    std::string port = find_port(kPortName);
    if (port.empty()) {
        log(std::string("no virtio-serial port named '") + kPortName + "'");
        end_vm();
    }
    std::string error;
    Channel channel = Channel::open_path(port, error);
    if (!channel.valid()) {
        log(error);
        end_vm();
    }
    prepare_next_run(channel.fd());  // before the Hello: a template's snapshot holds it
    run_channel_mode(std::move(channel));
    end_vm();
}

}  // namespace microvm::guest
