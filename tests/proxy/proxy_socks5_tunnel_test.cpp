// What a SOCKS5 tunnel may carry: a TLS ClientHello whose server name is the target's, or an SSH
// client's identification string, judged whenever the client's first bytes arrive (no deadline
// turns into an unchecked relay). Anything else is refused before a byte reaches the server.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "proxy_support.hpp"

namespace proxytest {
namespace {

const std::string kSocksGranted = std::string("\x05\x00\x05\x00\x00\x01\0\0\0\0\0\0", 12);  // method, reply
const std::string kAccessDenied = std::string("\x15\x03\x01\x00\x02\x02\x31", 7);         // fatal TLS alert
const std::string kRefusedRule = "a SOCKS5 tunnel carries TLS or SSH";
// The start of an SSH binary packet carrying SSH_MSG_KEXINIT: length 0x2c, padding 4, message 20,
// then 16 bytes of cookie.
const std::string kKexInitStart = std::string("\0\0\0\x2c\x04\x14", 6) + "0123456789abcdef";

std::string socks_request(const std::string& name, uint16_t port) {
    std::string r = std::string("\x05\x01\x00\x05\x01\x00\x03", 7) + static_cast<char>(name.size()) + name;
    r += static_cast<char>(port >> 8);
    r += static_cast<char>(port & 0xff);
    return r;
}

// A SOCKS5 tunnel to allowed.test:port, granted.
RawClient tunnel(TestProxy& p, uint16_t port) {
    RawClient c = RawClient::tcp(p.port);
    c.send_all(socks_request("allowed.test", port));
    EXPECT_EQ(c.read_exactly(kSocksGranted.size()), kSocksGranted);
    return c;
}

microvm::proxy::Limits short_handshake() {
    microvm::proxy::Limits limits;
    limits.handshake_timeout = std::chrono::milliseconds(300);
    return limits;
}

TEST(ProxySocks5Tunnel, WaitingPastTheHandshakeTimeoutStillHasTheNameChecked) {
    RecordingServer server("x", false);
    TestProxy p("allow=allowed.test", true, short_handshake());
    {   // the attack: wait, then front another name
        RawClient c = tunnel(p, server.port());
        std::this_thread::sleep_for(700ms);
        c.send_all(client_hello("evil.test"));
        c.shutdown_write();
        EXPECT_EQ(c.read_all(), kAccessDenied);
    }
    {   // the same wait with the tunnel's own name: relayed
        RawClient c = tunnel(p, server.port());
        std::this_thread::sleep_for(700ms);
        c.send_all(client_hello("allowed.test"));
        c.shutdown_write();
        EXPECT_EQ(c.read_all(), "x");
    }
    auto records = p.records(2);
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[0].allowed, false);
    EXPECT_EQ(records[0].rule, "TLS server name evil.test does not match the tunnel's host allowed.test");
    EXPECT_EQ(records[0].bytes_sent, 0u);
    EXPECT_EQ(records[1].allowed, true);
    EXPECT_EQ(records[1].error, "");
    auto seen = server.seen(2);
    ASSERT_EQ(seen.size(), 2u);
    int with_bytes = 0;
    for (const Seen& s : seen) with_bytes += s.received.empty() ? 0 : 1;
    EXPECT_EQ(with_bytes, 1);  // the refused tunnel reached the server as an empty connection
}

TEST(ProxySocks5Tunnel, FirstBytesThatAreNeitherTlsNorSshAreRefused) {
    RecordingServer server("x", false);
    TestProxy p("allow=allowed.test");
    const std::vector<std::string> attacks = {
        "\n" + client_hello("evil.test"),  // one byte that is no TLS, then fronting
        "GET / HTTP/1.1\r\nHost: evil.test\r\n\r\nGET /second HTTP/1.1\r\nHost: evil.test\r\n\r\n",
        "SS",  // a prefix of "SSH-", then the end of input
        // Red team: HTTP behind an SSH-looking prefix ("SSH-X" is a valid HTTP method), with a
        // Host the policy never judged; an identification line that is an HTTP request line;
        // and a valid identification line followed by HTTP instead of the key exchange.
        "SSH-X / HTTP/1.1\r\nHost: evil.test\r\n\r\nGET /secret HTTP/1.1\r\nHost: evil.test\r\n\r\n",
        "SSH-2.0-x /secret HTTP/1.0\r\n\r\n",
        "SSH-2.0-x\r\nGET /secret HTTP/1.1\r\nHost: evil.test\r\n\r\n",
    };
    for (const std::string& attack : attacks) {
        RawClient c = tunnel(p, server.port());
        if (attack[0] == '\n') {  // the newline alone first: judged as it arrives
            c.send_all("\n");
            std::this_thread::sleep_for(100ms);
            c.send_all(attack.substr(1));
        } else {
            c.send_all(attack);
        }
        c.shutdown_write();
        EXPECT_EQ(c.read_all(), "") << attack.substr(0, 20);  // closed: the SOCKS5 reply was sent
    }
    auto records = p.records(attacks.size());
    ASSERT_EQ(records.size(), attacks.size());
    for (const auto& r : records) {
        EXPECT_EQ(r.allowed, false);
        EXPECT_EQ(r.rule, kRefusedRule);
        EXPECT_NE(r.error.find("use the HTTP proxy for plain HTTP"), std::string::npos) << r.error;
        EXPECT_EQ(r.bytes_sent, 0u);
    }
    auto seen = server.seen(attacks.size());
    ASSERT_EQ(seen.size(), attacks.size());
    for (const Seen& s : seen) EXPECT_EQ(s.received, "");
}

TEST(ProxySocks5Tunnel, SshWithTheServerSpeakingFirst) {
    // git over ssh through a proxy command: the server's banner comes first, the client answers
    // (here after the handshake timeout has long passed), then data flows both ways.
    std::string server_got;
    RawServer server([&server_got](int fd) {
        ::send(fd, "SSH-2.0-test\r\n", 14, MSG_NOSIGNAL);
        std::string got;
        char buf[256];
        while (got.size() < 16 + kKexInitStart.size()) {
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) break;
            got.append(buf, static_cast<size_t>(n));
        }
        server_got = got;
        ::send(fd, "keys!", 5, MSG_NOSIGNAL);
    });
    TestProxy p("allow=allowed.test", true, short_handshake());
    RawClient c = tunnel(p, server.port());
    EXPECT_EQ(c.read_exactly(14), "SSH-2.0-test\r\n");
    std::this_thread::sleep_for(700ms);
    ASSERT_TRUE(c.send_all("SSH-2.0-client\r\n"));
    ASSERT_TRUE(c.send_all(kKexInitStart));  // held with the line until it shows SSH, then relayed
    EXPECT_EQ(c.read_exactly(5), "keys!");
    c.shutdown_write();
    EXPECT_EQ(c.read_all(), "");
    EXPECT_TRUE(server.all_closed_within(3s));
    EXPECT_EQ(server_got, "SSH-2.0-client\r\n" + kKexInitStart);
    auto records = p.records(1);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].allowed, true);
    EXPECT_EQ(records[0].error, "");
    EXPECT_EQ(records[0].bytes_sent, 16u + kKexInitStart.size());
    EXPECT_EQ(records[0].bytes_received, 19u);
}

// A server-first server that resets the tunnel before the client spoke: the record says so (it
// read as an end without error: a review, 2026-12-06), with its banner's bytes.
TEST(ProxySocks5Tunnel, AServerResetBeforeTheClientSpokeIsRecorded) {
    RawServer server([](int fd) {
        ::send(fd, "SSH-2.0-test\r\n", 14, MSG_NOSIGNAL);
        std::this_thread::sleep_for(200ms);  // the banner reaches the client first
        const linger reset{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    });  // closed after the handler returns: a reset
    TestProxy p("allow=allowed.test", true, short_handshake());
    RawClient c = tunnel(p, server.port());
    EXPECT_EQ(c.read_exactly(14), "SSH-2.0-test\r\n");
    auto records = p.records(1);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].error, "reset by the server before the tunnel's first bytes were judged");
    EXPECT_EQ(records[0].bytes_received, 14u);
}

TEST(ProxySocks5Tunnel, AClientThatNeverSpeaksIsCutWhenIdle) {
    RecordingServer server("x", false);
    microvm::proxy::Limits limits = short_handshake();
    limits.idle_timeout = std::chrono::milliseconds(800);
    TestProxy p("allow=allowed.test", true, limits);
    RawClient c = tunnel(p, server.port());
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(c.read_all(4s), "");
    const auto waited = std::chrono::steady_clock::now() - t0;
    EXPECT_GT(waited, 600ms);  // not the handshake timeout
    EXPECT_LT(waited, 2500ms);
    auto records = p.records(1);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].error, "cut: idle for 800 ms before the tunnel's first bytes were judged");
    EXPECT_EQ(records[0].bytes_sent, 0u);
    auto seen = server.seen(1);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].received, "");
}

TEST(ProxySocks5Tunnel, AStartedClientHelloHasTheHandshakeTimeout) {
    RecordingServer server("x", false);
    microvm::proxy::Limits limits = short_handshake();
    limits.idle_timeout = std::chrono::milliseconds(10'000);
    TestProxy p("allow=allowed.test", true, limits);
    RawClient c = tunnel(p, server.port());
    const auto t0 = std::chrono::steady_clock::now();
    c.send_all(client_hello("allowed.test").substr(0, 3));  // and nothing more
    EXPECT_EQ(c.read_all(5s), "");
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2000ms);  // not the idle timeout
    auto records = p.records(1);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].rule, "handshake timeout");
    EXPECT_EQ(records[0].error,
              "refused: handshake timeout: no complete TLS ClientHello or SSH identification string within 300 ms");
    auto seen = server.seen(1);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].received, "");
}

}  // namespace
}  // namespace proxytest
