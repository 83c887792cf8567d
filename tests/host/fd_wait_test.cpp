// Waiting on descriptors until a deadline (host/fd_wait.hpp): a send that never blocks past it.
#include "host/fd_wait.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>

#include "host/unique_fd.hpp"

namespace microvm::host {
namespace {

using namespace std::chrono_literals;

struct Pair {
    Pair() {
        int fds[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        a.reset(fds[0]);
        b.reset(fds[1]);
    }
    UniqueFd a, b;
};

TEST(SendAllUntil, SendsEverythingTheBlockingPeerTakes) {
    Pair p;
    EXPECT_EQ(send_all_until(p.a.get(), "hello", std::chrono::steady_clock::now() + 1s), SendAll::Sent);
    char buf[8] = {};
    EXPECT_EQ(::read(p.b.get(), buf, sizeof buf), 5);
    EXPECT_EQ(std::string(buf), "hello");
}

TEST(SendAllUntil, APeerThatTakesNothingEndsAtTheDeadlineNotLater) {
    Pair p;  // a blocking socket, whose full buffer would block a plain send forever
    const std::string big(8 << 20, 'x');
    const auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(send_all_until(p.a.get(), big, started + 200ms), SendAll::DeadlinePassed);
    const auto took = std::chrono::steady_clock::now() - started;
    EXPECT_GE(took, 200ms);
    EXPECT_LT(took, 5s);
}

TEST(SendAllUntil, AGonePeerIsAFailureWithoutSigpipe) {
    Pair p;
    p.b.reset();
    EXPECT_EQ(send_all_until(p.a.get(), "x", std::chrono::steady_clock::now() + 1s), SendAll::Failed);
    EXPECT_EQ(errno, EPIPE);
}

}  // namespace
}  // namespace microvm::host
