// Views of the host's state that sandboxes must leave unchanged: this process's children and
// descriptors, its mount table, cgroups and temp dirs named after this process, and processes
// carrying a marker in their command line.
#pragma once

#include <set>
#include <string>
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
