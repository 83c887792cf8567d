// host::send_fd / receive_fd: one descriptor in, or a clear outcome; a hostile sender's
// descriptors (several, none, with a truncated message) never stay open in the receiver.
#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "host/fd_passing.hpp"

namespace {

using namespace std::chrono_literals;
using microvm::host::UniqueFd;

int open_fds() {
    int n = 0;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (::readdir(d)) ++n;
        ::closedir(d);
    }
    return n;
}

struct Pair {
    UniqueFd a, b;
    Pair() {
        int fds[2];
        if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) == 0) {
            a.reset(fds[0]);
            b.reset(fds[1]);
        }
    }
};

// Sends `count` descriptors (of /dev/null) with `bytes` data bytes in one message.
void send_many(int socket, size_t count, size_t bytes) {
    std::vector<int> fds;
    for (size_t i = 0; i < count; ++i) fds.push_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    char data[2] = {'x', 'y'};
    iovec iov = {data, bytes};
    std::vector<char> control(CMSG_SPACE(sizeof(int) * (count ? count : 1)), 0);
    msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (count > 0) {
        msg.msg_control = control.data();
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * count);
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * count);
        std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * count);
    }
    ASSERT_GE(::sendmsg(socket, &msg, 0), 0) << std::strerror(errno);
    for (int fd : fds) ::close(fd);
}

TEST(FdPassing, OneDescriptorArrivesCloseOnExec) {
    Pair p;
    UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(microvm::host::send_fd(p.b.get(), null.get()));
    auto got = microvm::host::receive_fd(p.a.get(), "test fd", 5s);
    ASSERT_TRUE(got) << got.error().message;
    ASSERT_TRUE(got->has_value());
    EXPECT_TRUE((*got)->valid());
    EXPECT_EQ(::fcntl((*got)->get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
}

TEST(FdPassing, NothingSentIsNulloptOnEofAndAtTheDeadline) {
    {
        Pair p;
        p.b.reset();  // the sender ended
        auto got = microvm::host::receive_fd(p.a.get(), "test fd", 5s);
        ASSERT_TRUE(got) << got.error().message;
        EXPECT_FALSE(got->has_value());
    }
    {
        Pair p;  // the sender is silent
        auto got = microvm::host::receive_fd(p.a.get(), "test fd", 50ms);
        ASSERT_TRUE(got) << got.error().message;
        EXPECT_FALSE(got->has_value());
    }
}

// The attack: a sender that passes several descriptors (or a message cut short) where one is
// expected. Refused, and every descriptor it passed is closed again.
TEST(FdPassing, HostileMessagesAreRefusedAndLeaveNoDescriptorOpen) {
    const int baseline = open_fds();
    struct Case {
        size_t fds, bytes;
    };
    for (Case c : {Case{2, 1}, Case{3, 1}, Case{20, 1}, Case{0, 1}, Case{1, 2}}) {
        Pair p;
        send_many(p.b.get(), c.fds, c.bytes);
        auto got = microvm::host::receive_fd(p.a.get(), "test fd", 5s);
        EXPECT_FALSE(got) << c.fds << " descriptors, " << c.bytes << " bytes";
    }
    EXPECT_EQ(open_fds(), baseline);
}

}  // namespace
