#include "cpu_pacing.hpp"

#include <time.h>

#include <algorithm>
#include <thread>

namespace microvm::wasm {

void CpuPacing::pace(Clock::time_point deadline, const std::atomic<bool>* cancel) const {
    if (limit_ >= 1.0) return;
    const auto cpu = thread_cpu_time() - cpu_start_;
    const auto owed = std::chrono::duration_cast<Clock::duration>(cpu / limit_) - (Clock::now() - started_);
    if (owed <= std::chrono::milliseconds(1)) return;
    const auto until = std::min(Clock::now() + owed, deadline);
    for (auto now = Clock::now(); now < until; now = Clock::now()) {
        if (cancel && cancel->load()) return;
        std::this_thread::sleep_until(std::min(until, now + kStep));
    }
}

}  // namespace microvm::wasm
