// The host side of Firecracker's vsock handshake against a fake socket answering OK, garbage,
// nothing, or closing.
#include <gtest/gtest.h>

#include <sys/socket.h>

#include "fake_vsock.hpp"
#include "firecracker/fc_vsock.hpp"

namespace {

using namespace microvm::firecracker;
using namespace std::chrono_literals;
using fcfake::FakeVsock;
using Kind = FcError::Kind;

// Reads exactly n bytes from the (non-blocking) stream within a second.
std::string read_n(int fd, size_t n) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + 1s;
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
        char buf[256];
        ssize_t got = ::recv(fd, buf, std::min(sizeof buf, n - out.size()), 0);
        if (got > 0) out.append(buf, static_cast<size_t>(got));
        if (got == 0) break;
    }
    return out;
}

TEST(FcVsock, HandshakeThenTheStreamIsTheAgentChannel) {
    fcfake::SocketDir dir;
    FakeVsock fake(dir.file("v.sock"), FakeVsock::Mode::Echo, "HELLO");
    auto stream = connect_vsock(fake.path(), 52, 2s);
    ASSERT_TRUE(stream.has_value()) << stream.error().message();
    EXPECT_EQ(stream->host_port, 1073741824u);
    // The greeting came in the same write as "OK ...\n": it must still be in the stream.
    EXPECT_EQ(read_n(stream->fd.get(), 5), "HELLO");
    ASSERT_EQ(::send(stream->fd.get(), "ping", 4, MSG_NOSIGNAL), 4);
    EXPECT_EQ(read_n(stream->fd.get(), 4), "ping");
    EXPECT_EQ(fake.last_request(), "CONNECT 52\n");
}

TEST(FcVsock, GarbageAnswersAreProtocolErrors) {
    for (const char* garbage : {"NOPE\n", "OK\n", "OK abc\n", "OK 99999999999\n", "OK -1\n",
                                "ok 5\n", "OK 5 extra\n"}) {
        fcfake::SocketDir dir;
        FakeVsock fake(dir.file("v.sock"), FakeVsock::Mode::Garbage, garbage);
        auto r = connect_vsock(fake.path(), 52, 2s);
        ASSERT_FALSE(r.has_value()) << garbage;
        EXPECT_EQ(r.error().kind, Kind::Protocol) << garbage;
        EXPECT_EQ(r.error().call, "vsock CONNECT 52");
    }
}

TEST(FcVsock, EndlessLineIsCutShort) {
    fcfake::SocketDir dir;
    FakeVsock fake(dir.file("v.sock"), FakeVsock::Mode::Garbage, std::string(4096, 'O'));
    auto r = connect_vsock(fake.path(), 52, 2s);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, Kind::Protocol);
    EXPECT_NE(r.error().detail.find("longer than 32 bytes"), std::string::npos);
}

TEST(FcVsock, SilentPeerTimesOut) {
    fcfake::SocketDir dir;
    FakeVsock fake(dir.file("v.sock"), FakeVsock::Mode::Silent);
    auto start = std::chrono::steady_clock::now();
    auto r = connect_vsock(fake.path(), 52, 300ms);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, Kind::Timeout);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(FcVsock, ClosedWithoutAnswerMeansNoListener) {
    fcfake::SocketDir dir;
    FakeVsock fake(dir.file("v.sock"), FakeVsock::Mode::Close);
    auto r = connect_vsock(fake.path(), 1024, 2s);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, Kind::Refused);
    EXPECT_NE(r.error().detail.find("guest port 1024"), std::string::npos);
    EXPECT_EQ(fake.last_request(), "CONNECT 1024\n");
}

TEST(FcVsock, MissingSocketMeansTheVmIsNotThere) {
    fcfake::SocketDir dir;
    auto r = connect_vsock(dir.file("v.sock"), 52, 1s);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, Kind::Connect);
}

}  // namespace
