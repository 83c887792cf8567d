// host::DeferredTeardown: what it is given is destroyed, off the caller's thread while there is
// room, on it beyond kMaxPending, and all of it before wait_idle() or the destructor returns.
#include "host/deferred_teardown.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

namespace microvm::host {
namespace {

using namespace std::chrono_literals;

// Counts its destructions and the threads they ran on; optionally holds its destructor.
struct Doomed {
    Doomed(std::atomic<int>* d, std::atomic<int>* c, std::chrono::milliseconds h = 0ms)
        : destroyed(d), on_caller(c), caller(std::this_thread::get_id()), hold(h) {}
    Doomed(const Doomed&) = delete;
    std::atomic<int>* destroyed;
    std::atomic<int>* on_caller;
    std::thread::id caller;
    std::chrono::milliseconds hold;
    ~Doomed() {
        std::this_thread::sleep_for(hold);
        if (std::this_thread::get_id() == caller) ++*on_caller;
        ++*destroyed;
    }
};

TEST(DeferredTeardown, TearsDownOffTheCallersThreadAndWaitIdleWaitsForIt) {
    std::atomic<int> destroyed{0}, on_caller{0};
    DeferredTeardown teardown;
    for (int i = 0; i < 5; ++i) {
        teardown.dispose(std::make_unique<Doomed>(&destroyed, &on_caller, 20ms));
    }
    EXPECT_LT(destroyed.load(), 5);  // each takes 20 ms: not done on the way
    teardown.wait_idle();
    EXPECT_EQ(destroyed.load(), 5);
    EXPECT_EQ(on_caller.load(), 0);
}

TEST(DeferredTeardown, BeyondItsBoundTheCallerTearsDown) {
    std::atomic<int> destroyed{0}, on_caller{0};
    DeferredTeardown teardown;
    const int n = static_cast<int>(DeferredTeardown::kMaxPending) + 8;
    for (int i = 0; i < n; ++i) {
        teardown.dispose(std::make_unique<Doomed>(&destroyed, &on_caller, 50ms));
    }
    EXPECT_GE(on_caller.load(), 1);  // the queue was full: the caller did some itself
    teardown.wait_idle();
    EXPECT_EQ(destroyed.load(), n);
}

TEST(DeferredTeardown, TheDestructorFinishesEverything) {
    std::atomic<int> destroyed{0}, on_caller{0};
    {
        DeferredTeardown teardown;
        for (int i = 0; i < 4; ++i) {
            teardown.dispose(std::make_unique<Doomed>(&destroyed, &on_caller, 10ms));
        }
    }
    EXPECT_EQ(destroyed.load(), 4);
}

// After a long idle sleep the thread is woken by the next dispose, not left for a poll.
TEST(DeferredTeardown, AThreadAsleepIsWokenByTheNextTeardown) {
    std::atomic<int> destroyed{0}, on_caller{0};
    DeferredTeardown teardown;
    teardown.dispose(std::make_unique<Doomed>(&destroyed, &on_caller));
    teardown.wait_idle();
    std::this_thread::sleep_for(DeferredTeardown::kPollFor + 200ms);  // asleep now
    teardown.dispose(std::make_unique<Doomed>(&destroyed, &on_caller));
    for (int i = 0; i < 200 && destroyed.load() < 2; ++i) std::this_thread::sleep_for(5ms);
    EXPECT_EQ(destroyed.load(), 2);
}

}  // namespace
}  // namespace microvm::host
