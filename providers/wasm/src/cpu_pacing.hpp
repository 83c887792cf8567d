// The CPU share of a run (MicroVMConfig::cpu_limit below 1): the run's thread sleeps off the CPU
// time it used beyond its share of the wall time since it started. Paced between fuel slices,
// after every chunk of a bulk instruction and after every host call, so that neither bulk
// instructions nor host calls run at full speed inside one slice (red team, 2026-12-06:
// memory.fill in a loop used 14x its share under --cpu 0.02); the sleep is cut into steps that
// watch the deadline and cancellation (it held a cancelled run for up to its timeout).
#pragma once

#include <atomic>
#include <chrono>

#include "host/thread_cpu_time.hpp"

namespace microvm::wasm {

// CPU time of the calling thread (the run's: the interpreter and its host calls run on it).
using host::thread_cpu_time;

class CpuPacing {
  public:
    using Clock = std::chrono::steady_clock;
    // From here on, with this share (1 or more: never sleeps).
    void start(double limit, Clock::time_point started, std::chrono::nanoseconds cpu_start) {
        limit_ = limit;
        started_ = started;
        cpu_start_ = cpu_start;
    }
    // Sleeps off what is owed, in steps of at most kStep, until the deadline; returns as soon as
    // cancel is set.
    void pace(Clock::time_point deadline, const std::atomic<bool>* cancel) const;
    static constexpr std::chrono::milliseconds kStep{20};

  private:
    double limit_ = 1.0;
    Clock::time_point started_{};
    std::chrono::nanoseconds cpu_start_{};
};

}  // namespace microvm::wasm
