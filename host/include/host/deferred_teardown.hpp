// Tears finished sandboxes down on a thread of its own (reaping their init, removing their
// cgroups), so that a result is returned as soon as its program ended and the rest of the
// sandbox's end does not delay it. Bounded: with kMaxPending teardowns waiting, dispose() tears
// down on the caller's thread instead, so a host that runs sandboxes faster than it can take them
// down slows down rather than piling them up. The destructor finishes every pending teardown.
// One thread: a teardown that blocks (a reap behind a process stuck in the kernel) delays the
// ones queued behind it, up to kMaxPending; then callers tear down on their own threads.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace microvm::host {

class DeferredTeardown {
  public:
    static constexpr size_t kMaxPending = 16;
    // dispose() does not wake a thread that had work within kPollFor: it looks for work every
    // kPollPeriod (see later()).
    static constexpr std::chrono::milliseconds kPollPeriod{5};
    static constexpr std::chrono::seconds kPollFor{1};

    DeferredTeardown() = default;
    ~DeferredTeardown();
    DeferredTeardown(const DeferredTeardown&) = delete;
    DeferredTeardown& operator=(const DeferredTeardown&) = delete;

    // Destroys `doomed` later, on the teardown thread (started on first use).
    template <typename T>
    void dispose(std::unique_ptr<T> doomed) {
        if (!doomed) return;
        // Moved into the closure, not copied: a copy left here would be the last reference
        // whenever the thread ran first, and the teardown would happen on the caller's thread.
        later([shared = std::shared_ptr<T>(std::move(doomed))]() mutable { shared.reset(); });
    }

    // Returns once every teardown handed over so far is done.
    void wait_idle();

    // For a process that runs one execution and exits (the CLI), called before any provider
    // starts: from then on every teardown runs on the caller's thread. Such a process waits for
    // its teardowns before it exits anyway; a thread started for its only one added its start
    // and two hand-offs to the run (~0.5 ms of a one-shot process run, docs/benchmarks.md).
    static void tear_down_on_callers_thread();

  private:
    void later(std::function<void()> teardown);
    void loop();
    // With mu_ held by lock: runs teardown with it released, counted in running_.
    void run_unlocked(std::unique_lock<std::mutex>& lock, std::function<void()> teardown);

    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> pending_;
    size_t running_ = 0;
    bool stopping_ = false;
    bool asleep_ = false;  // waiting without a timeout: dispose() wakes it
    std::thread thread_;
};

}  // namespace microvm::host
