// A host child process (runsc and its subcommands, Firecracker) as an RAII object: started with exactly the
// descriptors it is given on 0/1/2 and nothing else, a clean environment, PR_SET_PDEATHSIG so
// that it dies with the host thread that started it (or, for a program that changes its uid, a
// pid namespace of its own whose init does), and optionally inside a cgroup from its
// first instruction (v2: clone3 CLONE_INTO_CGROUP; v1: it writes itself into the hierarchies'
// tasks files before exec), so that everything it starts is born there. Destroying an unreaped
// child kills and reaps it: no process outlives its owner.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "microvm/error.hpp"
#include "host/unique_fd.hpp"

namespace microvm::host {

// For a stdio descriptor of SpawnRequest: /dev/null, opened by spawn. Only where the child is
// meant to get nothing and say nothing (Firecracker, `qemu -version`'s stderr); never for runsc,
// which chowns its stdin to the sandbox's user.
inline constexpr int kDevNull = -2;

struct SpawnRequest {
    std::string program;            // absolute path
    std::vector<std::string> argv;  // argv[0] included
    std::vector<std::string> env;   // the complete environment
    int stdin_fd = -1;              // placed on 0, 1, 2 in the child (valid, or kDevNull)
    int stdout_fd = -1;
    int stderr_fd = -1;
    int cgroup_fd = -1;                // v2: the cgroup directory to be cloned into
    std::vector<int> cgroup_join_fds;  // v1: "tasks" files open for writing
    bool own_network_namespace = false;  // started in a new, empty network namespace
    // Started as pid 2 of a new pid namespace whose init (pid 1, this process's child) keeps
    // root's credentials and so its PR_SET_PDEATHSIG: the kernel clears the death signal of a
    // process that changes its credentials, so a program that drops to another uid (the
    // Firecracker jailer) outlived a host killed by SIGKILL (red team, 2026-12-06). When the
    // host dies the init dies, and with it the whole namespace. The init exits as the program
    // did: its exit code, or 128 + the signal that ended it. Needs CAP_SYS_ADMIN. The init is a
    // copy of the host process that never execs: it keeps the host's memory as it was at the
    // spawn (copy-on-write) for the program's lifetime, as the process provider's init does.
    bool dies_with_host_whatever_its_uid = false;
};

struct ChildExit {
    int wait_status = 0;
    struct rusage usage {};  // the child and every descendant it reaped
};

// The CPU time (user and system) of a wait4 rusage.
std::chrono::nanoseconds cpu_time_of(const struct rusage& usage);

// How a wait status ended its process, for messages: "exited with code N" or "was killed by
// signal N".
std::string describe_wait_status(int wait_status);

class ChildProcess {
  public:
    static Expected<ChildProcess> spawn(const SpawnRequest& request);
    // A child this process forked or cloned itself, where spawn has no room for its start
    // (QEMU's makes a tap device between the fork and the exec; the process provider's init is a
    // copy of the host in new namespaces): owned from here on, killed and reaped as a spawned
    // one is, signalled through its pidfd (the clone's CLONE_PIDFD, else one opened here).
    static ChildProcess adopt(pid_t pid);
    static ChildProcess adopt(pid_t pid, UniqueFd pidfd);

    ChildProcess() = default;
    ChildProcess(ChildProcess&& other) noexcept;
    ChildProcess& operator=(ChildProcess&& other) noexcept;
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    ~ChildProcess();

    pid_t pid() const { return pid_; }
    int pidfd() const { return pidfd_.get(); }  // readable once the child exited
    bool running() const { return pid_ > 0; }

    // SIGKILL (no effect once reaped). A child in a pid namespace of its own is sent SIGTERM,
    // on which its init kills the program and reaps it (its usage kept), then SIGKILL should it
    // not exit within a second.
    void kill() const;
    ChildExit wait();                     // reaps; blocks until the child exits
    std::optional<ChildExit> try_wait();  // reaps when it has exited, else nullopt

  private:
    pid_t pid_ = -1;
    UniqueFd pidfd_;
    bool supervised_ = false;  // SpawnRequest::dies_with_host_whatever_its_uid
};

}  // namespace microvm::host
