// The CPU time the calling thread has used (CLOCK_THREAD_CPUTIME_ID): what a provider that runs
// the program on a thread of the host process (mock, wasm) measures as the run's CPU time.
#pragma once

#include <time.h>

#include <chrono>

namespace microvm::host {

inline std::chrono::nanoseconds thread_cpu_time() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

}  // namespace microvm::host
