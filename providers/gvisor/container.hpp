// Runs one container with `runsc run` (attached: the sandbox and gofer die with runsc, and runsc
// dies with the host thread that started it) and collects what happened: its stdout and stderr
// through pipes (capped), the job on its stdin, runsc's exit status and rusage. runsc starts
// inside the execution's cgroup with --ignore-cgroups: runsc, its gofer, the sentry and the
// platform's stub processes are all born there (no migrations, which cost an RCU grace period
// each per hierarchy), and runsc creates no cgroups of its own that could be left behind.
// At the deadline everything in that cgroup is SIGKILLed at once — runsc, gofer, sentry, stubs:
// nothing depends on a wedged runsc answering `runsc kill`, and the duration ends right at the
// timeout. (runsc's state files are then removed by the caller; never with `runsc delete`,
// which would signal a recorded sandbox pid that the kernel may have reused.)
// A container built ahead (a warm pool's) is started the same way and attached later, when an
// execution claims it: its process, the launcher (launch_format.hpp), waits on stdin meanwhile.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "host/child_process.hpp"
#include "gvisor/runsc.hpp"
#include "host/unique_fd.hpp"
#include "microvm/error.hpp"
#include "host/output_capture.hpp"
#include "microvm/context.hpp"

namespace microvm::gvisor {

// How runsc run is started: the container, and the cgroup it is born in.
struct ContainerStart {
    std::string id;
    std::string bundle_dir;
    std::string log_path;
    bool host_network = false;         // --network=host, else --network=none
    int cgroup_fd = -1;                // the execution's cgroup (v2), or
    std::vector<int> cgroup_join_fds;  // its v1 "tasks" files
};

// What the host does while the container runs.
struct ContainerAttach {
    std::optional<std::string> stdin_data;  // nullopt: an empty stdin
    std::chrono::milliseconds timeout{30'000};
    uint64_t max_output_bytes = 1 << 20;
    std::function<void()> on_tick;      // called every few milliseconds while it runs
    std::function<void()> kill_cgroup;  // SIGKILLs everything in the container's cgroup
    OutputSink on_output;               // chunks as they arrive
    int cancel_fd = -1;                 // readable once cancelled: killed like at the deadline
};

struct ContainerExit {
    bool timed_out = false;  // the deadline passed before runsc run returned
    bool cancelled = false;  // killed because the execution was cancelled
    int wait_status = 0;     // of runsc run
    std::chrono::nanoseconds wall{0};        // from the attach's start to runsc run's exit
    std::chrono::nanoseconds rusage_cpu{0};  // runsc run and everything it reaped
    host::CapturedStream out;
    host::CapturedStream err;
};

// Why a container's process did not announce itself (StartedContainer::read_stdout_prefix).
struct NotAnnounced {
    enum class Cause { Deadline, Cancelled, RunscEnded, Other };  // Other: it wrote something else
    Cause cause = Cause::Other;
    std::string message;
};

// A `runsc run` started and not yet waited for, with the host's ends of its stdio pipes.
// Destroying it kills and reaps runsc run (its cgroup's owner kills the rest).
class StartedContainer {
  public:
    static Expected<StartedContainer> start(const Runsc& runsc, const ContainerStart& start);

    // Reads exactly `expected` from the container's stdout (what a launcher announces before
    // anything of the program), or says why not: the deadline passed, cancel_fd (when not -1)
    // became readable, runsc run ended, or other bytes came.
    rtfs::Expected<void, NotAnnounced> read_stdout_prefix(std::string_view expected,
                                                          std::chrono::steady_clock::time_point deadline,
                                                          int cancel_fd = -1);

    // Feeds stdin, captures stdout and stderr until runsc run exits (killing the container at
    // the deadline, since + timeout, or when cancelled), and reaps it. Once.
    ContainerExit finish(const ContainerAttach& attach, std::chrono::steady_clock::time_point since);
    // runsc run has not exited (a container built ahead dies with the thread that started it).
    bool alive() const;

  private:
    host::ChildProcess run_;
    host::UniqueFd stdin_;  // write end, non-blocking
    host::UniqueFd stdout_;
    host::UniqueFd stderr_;
};

}  // namespace microvm::gvisor
