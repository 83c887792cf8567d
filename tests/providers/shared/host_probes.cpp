#include "host_probes.hpp"

#include <arpa/inet.h>
#include <signal.h>
#include <dirent.h>
#include <netinet/in.h>
#include <spawn.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace enforcement {
namespace {

namespace fs = std::filesystem;

std::string read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<int> numeric_entries(const std::string& dir) {
    std::vector<int> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const std::string name = e.path().filename();
        if (!name.empty() && std::all_of(name.begin(), name.end(), ::isdigit)) {
            out.push_back(std::stoi(name));
        }
    }
    return out;
}

void collect_cgroups(const fs::path& dir, const std::string& pid, int depth,
                     std::set<std::string>& out) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        if (!e.is_directory(ec) || e.is_symlink(ec)) continue;
        std::string name = e.path().filename();
        if (name.find(pid) != std::string::npos) out.insert(e.path());
        if (depth > 0) collect_cgroups(e.path(), pid, depth - 1, out);
    }
}

}  // namespace

HostSnapshot take_snapshot() {
    HostSnapshot s;
    const int self = ::getpid();
    for (int pid : numeric_entries("/proc")) {
        if (parent_of(pid) == self) s.children.insert(pid);
    }
    // Our own cgroups, mounts and state are named with our pid ("microvm-...-PID.PIDNS-N",
    // host/stale_dirs.hpp; "microvm-...-PID-N" for a few, and the service tests' directories
    // "microvmd-test-PID-...", whose sessions' disks are mounts); those of other test processes
    // running alongside (ctest -j) come and go on their own and are left out. Every other
    // mount is compared.
    const std::string pid = "-" + std::to_string(self) + ".";
    const std::string old_pid = "-" + std::to_string(self) + "-";
    std::istringstream mounts(read_all("/proc/self/mountinfo"));
    for (std::string line; std::getline(mounts, line);) {
        const bool another_hosts = (line.find("/microvm-") != std::string::npos ||
                                    line.find("/microvmd-test-") != std::string::npos) &&
                                   line.find(pid) == std::string::npos &&
                                   line.find(old_pid) == std::string::npos;
        if (!another_hosts) s.mounts.push_back(line);
    }
    std::sort(s.mounts.begin(), s.mounts.end());
    // A sandbox's cgroup lives below ours (or below a configured parent, which the
    // depth-limited walk of each hierarchy also covers).
    std::error_code ec;
    for (const auto& h : fs::directory_iterator("/sys/fs/cgroup", ec)) {
        collect_cgroups(h.path(), pid, 3, s.cgroups);
        collect_cgroups(h.path(), old_pid, 3, s.cgroups);
    }
    for (const auto& e : fs::directory_iterator("/tmp", ec)) {
        std::string name = e.path().filename();
        if (name.find("microvm") != std::string::npos &&
            name.find(std::to_string(self)) != std::string::npos) {
            s.temp_dirs.insert(name);
        }
    }
    s.open_fds = numeric_entries("/proc/self/fd").size();
    return s;
}

std::vector<int> processes_with_marker(const std::string& marker) {
    std::vector<int> found;
    for (int pid : numeric_entries("/proc")) {
        std::string cmdline = read_all("/proc/" + std::to_string(pid) + "/cmdline");
        std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
        if (cmdline.find(marker) != std::string::npos) found.push_back(pid);
    }
    return found;
}

int parent_of(int pid) {
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so parse after the last
    // ')'.
    const std::string stat = read_all("/proc/" + std::to_string(pid) + "/stat");
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) return -1;
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    int parent = -1;
    if (!(rest >> state >> parent)) return -1;
    return parent;
}

bool descends_from(int pid, int ancestor) {
    for (int hops = 0; pid > 1 && hops < 64; ++hops) {
        if (pid == ancestor) return true;
        pid = parent_of(pid);
        if (pid < 0) return false;
    }
    return pid == ancestor;
}

KilledOnExit::~KilledOnExit() { kill_now(); }

void KilledOnExit::kill_now() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = 0;
}

LoopbackListener::LoopbackListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::listen(fd_, 16) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
        port_ = ntohs(addr.sin_port);
    }
}

LoopbackListener::~LoopbackListener() {
    if (fd_ >= 0) ::close(fd_);
}

double host_spawn_ms() {
    auto start = std::chrono::steady_clock::now();
    pid_t pid;
    char arg0[] = "/bin/true";
    char* argv[] = {arg0, nullptr};
    if (::posix_spawn(&pid, "/bin/true", nullptr, nullptr, argv, environ) != 0) return 1e9;
    int status;
    ::waitpid(pid, &status, 0);
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
}

LoopbackUnixServer::LoopbackUnixServer(std::string path) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    // A backlog is enough: the kernel completes connect() before accept().
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 16) != 0) {
        ADD_FAILURE() << "cannot listen on " << path_;
    }
    ::chmod(path_.c_str(), 0777);
}

LoopbackUnixServer::~LoopbackUnixServer() {
    if (fd_ >= 0) ::close(fd_);
    ::unlink(path_.c_str());
}

}  // namespace enforcement
