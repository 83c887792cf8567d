// Clocks, randomness, poll_oneoff (clock subscriptions only), sched_yield and proc_raise.
#include <sched.h>
#include <sys/random.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>
#include <vector>

#include "wasi.hpp"
#include "wasi_abi.hpp"

namespace microvm::wasm {
namespace {

using wabt::interp::Values;
using Clock = std::chrono::steady_clock;

// The guest's "process" is the thread running it, so both CPU clocks measure that thread.
std::optional<clockid_t> host_clock(uint32_t id) {
    switch (id) {
        case wasi::kClockRealtime:
            return CLOCK_REALTIME;
        case wasi::kClockMonotonic:
            return CLOCK_MONOTONIC;
        case wasi::kClockProcessCpu:
        case wasi::kClockThreadCpu:
            return CLOCK_THREAD_CPUTIME_ID;
    }
    return std::nullopt;
}

uint64_t to_ns(const timespec& ts) {
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

uint32_t clock_res_get(RunState& s, const Values& p) {
    auto id = host_clock(u32_at(p, 0));
    if (!id) return wasi::kInval;
    timespec ts{};
    if (clock_getres(*id, &ts) != 0) return wasi::from_host_errno(errno);
    return s.mem().store<uint64_t>(u32_at(p, 1), to_ns(ts)) ? wasi::kSuccess : wasi::kFault;
}

uint32_t clock_time_get(RunState& s, const Values& p) {
    auto id = host_clock(u32_at(p, 0));
    if (!id) return wasi::kInval;
    timespec ts{};
    if (clock_gettime(*id, &ts) != 0) return wasi::from_host_errno(errno);
    return s.mem().store<uint64_t>(u32_at(p, 2), to_ns(ts)) ? wasi::kSuccess : wasi::kFault;
}

uint32_t random_get(RunState& s, const Values& p) {
    uint8_t* buf = s.mem().span(u32_at(p, 0), u32_at(p, 1));
    if (!buf) return wasi::kFault;
    size_t want = u32_at(p, 1), got = 0;
    // In pieces, stopping at the deadline: a gigabyte of randomness takes the kernel seconds.
    constexpr size_t kPiece = 1 << 20;
    while (got < want) {
        if (s.past_deadline() || s.cancel_requested()) return wasi::kIntr;
        ssize_t n = getrandom(buf + got, std::min(kPiece, want - got), 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return wasi::from_host_errno(errno);
        }
        got += static_cast<size_t>(n);
    }
    return wasi::kSuccess;
}

uint32_t sched_yield_(RunState&, const Values&) {
    sched_yield();
    return wasi::kSuccess;
}

uint32_t proc_raise(RunState&, const Values&) {
    return wasi::kNosys;
}

struct Event {
    uint64_t userdata;
    uint16_t error;
    uint8_t type;
};

// When a clock subscription fires, as a steady-clock time point; nullopt for an unknown clock.
std::optional<Clock::time_point> clock_target(uint32_t id, uint64_t timeout, uint16_t flags) {
    Clock::time_point now = Clock::now();
    if (!(flags & wasi::kSubclockAbstime)) return now + std::chrono::nanoseconds(timeout);
    if (id != wasi::kClockRealtime && id != wasi::kClockMonotonic) return std::nullopt;
    timespec ts{};
    clock_gettime(id == wasi::kClockRealtime ? CLOCK_REALTIME : CLOCK_MONOTONIC, &ts);
    uint64_t current = to_ns(ts);
    return now + std::chrono::nanoseconds(timeout > current ? timeout - current : 0);
}

constexpr uint64_t kMaxSubscriptions = 4096;

uint32_t poll_oneoff(RunState& s, const Values& p) {
    GuestMemory m = s.mem();
    const uint64_t in = u32_at(p, 0), out = u32_at(p, 1), count = u32_at(p, 2);
    // As many subscriptions as a guest has uses for (wasi-libc's poll passes one per descriptor
    // and a timer), not as many as fit in its memory: one call over 22 million of them held the
    // engine's thread 15 s past a 1 s deadline and took 1.9 GB of host memory (red team,
    // 2026-12-04). Like poll(2) over more descriptors than allowed: EINVAL.
    if (count == 0 || count > kMaxSubscriptions) return wasi::kInval;
    if (!m.span(in, count * wasi::kSubscriptionSize) || !m.span(out, count * wasi::kEventSize)) {
        return wasi::kFault;
    }
    std::vector<Event> ready;
    struct Timer {
        uint64_t userdata;
        Clock::time_point at;
    };
    std::vector<Timer> timers;
    for (uint64_t i = 0; i < count; ++i) {
        uint64_t sub = in + i * wasi::kSubscriptionSize;
        uint64_t userdata = 0, timeout = 0;
        uint8_t tag = 0;
        uint32_t clock_id = 0;
        uint16_t flags = 0;
        m.load(sub, userdata);
        m.load(sub + 8, tag);
        if (tag != wasi::kEventClock) {
            // Only clock subscriptions are supported; fd readiness is reported as ENOTSUP.
            ready.push_back({userdata, static_cast<uint16_t>(wasi::kNotsup), tag});
            continue;
        }
        m.load(sub + 16, clock_id);
        m.load(sub + 24, timeout);
        m.load(sub + 40, flags);
        auto at = clock_target(clock_id, timeout, flags);
        if (!at) {
            ready.push_back({userdata, static_cast<uint16_t>(wasi::kInval), tag});
        } else {
            timers.push_back({userdata, *at});
        }
    }
    if (ready.empty() && !timers.empty()) {
        auto first = std::min_element(timers.begin(), timers.end(),
                                      [](const Timer& a, const Timer& b) { return a.at < b.at; });
        // Never sleep past the run's deadline (the engine ends the run right after), and wake
        // for a cancellation within a tick.
        const Clock::time_point until = std::min(first->at, s.deadline);
        while (Clock::now() < until && !s.cancel_requested()) {
            std::this_thread::sleep_until(
                std::min(until, Clock::now() + std::chrono::milliseconds(20)));
        }
    }
    Clock::time_point now = Clock::now();
    for (const Timer& t : timers) {
        if (t.at <= now) ready.push_back({t.userdata, 0, wasi::kEventClock});
    }
    for (size_t i = 0; i < ready.size(); ++i) {
        uint8_t zero[wasi::kEventSize] = {};
        uint64_t ev = out + i * wasi::kEventSize;
        m.write(ev, zero, sizeof zero);
        m.store(ev, ready[i].userdata);
        m.store(ev + 8, ready[i].error);
        m.store(ev + 10, ready[i].type);
    }
    return m.store<uint32_t>(u32_at(p, 3), static_cast<uint32_t>(ready.size())) ? wasi::kSuccess
                                                                                : wasi::kFault;
}

constexpr HostFunction kFunctions[] = {
    {"clock_res_get", "ii", clock_res_get}, {"clock_time_get", "iIi", clock_time_get},
    {"random_get", "ii", random_get},       {"sched_yield", "", sched_yield_},
    {"proc_raise", "i", proc_raise},        {"poll_oneoff", "iiii", poll_oneoff},
};

}  // namespace

std::span<const HostFunction> wasi_clock_proc_functions() {
    return kFunctions;
}

}  // namespace microvm::wasm
