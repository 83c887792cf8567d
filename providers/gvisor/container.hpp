// Runs one container with `runsc run` (attached: the sandbox and gofer die with runsc, and runsc
// dies with the host thread that started it) and collects what happened: its stdout and stderr
// through pipes (capped), the job on its stdin, runsc's exit status and rusage. At the deadline
// `runsc kill ID KILL` has the sentry kill the container (repeated until runsc run returns);
// if runsc run is still there a few seconds later it is SIGKILLed.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "gvisor/runsc.hpp"
#include "microvm/error.hpp"
#include "process/output_capture.hpp"

namespace microvm::gvisor {

struct ContainerLaunch {
    std::string id;
    std::string bundle_dir;
    std::string log_path;
    bool host_network = false;            // --network=host, else --network=none
    std::optional<std::string> stdin_data;  // nullopt: an empty stdin
    std::chrono::milliseconds timeout{30'000};
    uint64_t max_output_bytes = 1 << 20;
    std::function<void()> on_tick;        // called every few milliseconds while it runs
};

struct ContainerExit {
    bool timed_out = false;       // the deadline passed before runsc run returned
    bool runsc_killed = false;    // runsc run itself had to be SIGKILLed
    int wait_status = 0;          // of runsc run
    std::chrono::nanoseconds wall{0};
    std::chrono::nanoseconds rusage_cpu{0};  // runsc run and everything it reaped
    process::CapturedStream out;
    process::CapturedStream err;
};

Expected<ContainerExit> run_container(const Runsc& runsc, const ContainerLaunch& launch);

}  // namespace microvm::gvisor
