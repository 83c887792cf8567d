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
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "gvisor/runsc.hpp"
#include "microvm/error.hpp"
#include "host/output_capture.hpp"
#include "microvm/context.hpp"

namespace microvm::gvisor {

struct ContainerLaunch {
    std::string id;
    std::string bundle_dir;
    std::string log_path;
    bool host_network = false;              // --network=host, else --network=none
    std::optional<std::string> stdin_data;  // nullopt: an empty stdin
    std::chrono::milliseconds timeout{30'000};
    uint64_t max_output_bytes = 1 << 20;
    std::function<void()> on_tick;      // called every few milliseconds while it runs
    int cgroup_fd = -1;                 // the execution's cgroup (v2), or
    std::vector<int> cgroup_join_fds;   // its v1 "tasks" files
    std::function<void()> kill_cgroup;  // SIGKILLs everything in it
    OutputSink on_output;               // chunks as they arrive
    int cancel_fd = -1;                 // readable once cancelled: killed like at the deadline
};

struct ContainerExit {
    bool timed_out = false;  // the deadline passed before runsc run returned
    bool cancelled = false;  // killed because the execution was cancelled
    int wait_status = 0;     // of runsc run
    std::chrono::nanoseconds wall{0};
    std::chrono::nanoseconds rusage_cpu{0};  // runsc run and everything it reaped
    host::CapturedStream out;
    host::CapturedStream err;
};

Expected<ContainerExit> run_container(const Runsc& runsc, const ContainerLaunch& launch);

}  // namespace microvm::gvisor
