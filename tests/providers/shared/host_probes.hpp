// Views of the host's state that sandboxes must leave unchanged: this process's children and
// descriptors, its mount table, cgroups and temp dirs named after this process, and processes
// carrying a marker in their command line.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace enforcement {

struct HostSnapshot {
    std::set<int> children;           // processes whose parent is this process
    std::vector<std::string> mounts;  // /proc/self/mountinfo lines, sorted
    std::set<std::string> cgroups;    // cgroup dirs (any hierarchy) whose name holds our pid
    std::set<std::string> temp_dirs;  // /tmp entries whose name holds "microvm" and our pid
    size_t open_fds = 0;
};

HostSnapshot take_snapshot();

// Pids of host processes whose command line contains marker.
std::vector<int> processes_with_marker(const std::string& marker);

// The parent pid of a host process (/proc/PID/stat), or -1 when it is gone.
int parent_of(int pid);

// Whether pid is ancestor or one of its descendants, by the parent links in /proc. Pids are
// reused (pid_max is 32768 here): a marker naming a pid can match what an earlier process of
// that pid left dying, and only the ancestry tells them apart.
bool descends_from(int pid, int ancestor);

// True as soon as predicate holds, polled every 25 ms; false once timeout has passed. It never
// asks again after a true: a process seen mid-execve (runsc re-executes itself while it boots)
// shows an empty cmdline, so a second look could miss what the first one saw.
template <typename Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!predicate()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return true;
}

// A spawned host helper killed and reaped on destruction unless released: a failed assertion
// must not leave it (and its sandbox) holding ctest's output pipe until the test's timeout.
class KilledOnExit {
  public:
    explicit KilledOnExit(pid_t pid) : pid_(pid) {}
    ~KilledOnExit();
    KilledOnExit(const KilledOnExit&) = delete;
    KilledOnExit& operator=(const KilledOnExit&) = delete;
    // Kills and reaps it now.
    void kill_now();

  private:
    pid_t pid_;
};

// A TCP listener on 127.0.0.1 (random port), closed on destruction.
class LoopbackListener {
  public:
    LoopbackListener();
    ~LoopbackListener();
    int port() const { return port_; }

  private:
    int fd_ = -1;
    int port_ = 0;
};

// A listening AF_UNIX socket at path (mode 0777): connections complete in its backlog. Removed
// on destruction.
class LoopbackUnixServer {
  public:
    explicit LoopbackUnixServer(std::string path);
    ~LoopbackUnixServer();
    const std::string& path() const { return path_; }

  private:
    std::string path_;
    int fd_ = -1;
};

// Wall-clock milliseconds for the host to fork and exec /bin/true once.
double host_spawn_ms();

}  // namespace enforcement
