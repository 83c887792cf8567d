// Untrusted clients: malformed input, slow and half-closed clients, limits, timeouts, and the
// proxy's own lifecycle. The proxy answers clearly, records, never stalls other clients, and
// leaves no descriptor behind.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <sstream>
#include <fstream>
#include <cerrno>
#include <cstring>

#include "proxy_support.hpp"

namespace proxytest {
namespace {

std::string authority(const std::string& host, uint16_t port) { return host + ":" + std::to_string(port); }

std::string first_line(const std::string& s) { return s.substr(0, s.find("\r\n")); }

// A port nothing listens on (bound, then closed).
uint16_t closed_port() {
    RawServer s([](int) {});
    return s.port();
}

// A full HTTP request through the proxy, for "the proxy still serves" checks.
std::string good_request(TestProxy& p, uint16_t server_port) {
    RawClient c = RawClient::tcp(p.port);
    const std::string host = authority("allowed.test", server_port);
    c.send_all("GET http://" + host + "/ HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
    return c.read_all();
}

const std::string kReply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

TEST(ProxyMalformed, EveryGarbageGetsAClearRefusal) {
    RecordingServer server(kReply, true);
    TestProxy p("allow=allowed.test");
    const std::string big(20 * 1024, 'a');
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"garbage\r\n\r\n", "HTTP/1.1 400 Bad Request"},
        {"CONNECT\r\n\r\n", "HTTP/1.1 400 Bad Request"},
        {"CONNECT allowed.test HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request"},
        {"CONNECT allowed.test:99999 HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request"},
        {"CONNECT allowed.test:443 HTTP/9.9\r\n\r\n", "HTTP/1.1 505 HTTP Version Not Supported"},
        {"CONNECT allowed.test:443 HTTP/1.1\n\n", "HTTP/1.1 400 Bad Request"},
        {std::string("\x16\x03\x01\x00\x05hello", 10), "HTTP/1.1 400 Bad Request"},
        {std::string("\0\0\0\0", 4), "HTTP/1.1 400 Bad Request"},
        {"CONNECT allowed.test:443 HTTP/1.1\r\nX: " + big + "\r\n\r\n", "HTTP/1.1 431 Request Header Fields Too Large"},
        {"GET / HTTP/1.1\r\nHost: allowed.test\r\n\r\n", "HTTP/1.1 400 Bad Request"},
        {"GET https://allowed.test/ HTTP/1.1\r\n\r\n", "HTTP/1.1 501 Not Implemented"},
        {"POST http://allowed.test/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/1.1 411 Length Required"},
        {"GET http://allowed.test/ HTTP/1.1\r\nHost: other.test\r\n\r\n", "HTTP/1.1 403 Forbidden"},
        {"CONNECT a..test:443 HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request"},
    };
    for (const auto& [input, status] : cases) {
        RawClient c = RawClient::tcp(p.port);
        c.send_all(input);  // may fail midway for the big one: the proxy answers at its limit
        const std::string answer = c.read_all();
        EXPECT_EQ(first_line(answer), status) << "input: " << input.substr(0, 60);
        EXPECT_NE(answer.find("microvm proxy: refused"), std::string::npos) << answer;
    }
    EXPECT_EQ(good_request(p, server.port()), kReply);  // still serving
    auto records = p.records(cases.size() + 1);
    ASSERT_EQ(records.size(), cases.size() + 1);
    for (size_t i = 0; i < cases.size(); ++i) {
        EXPECT_EQ(records[i].allowed, false) << i;
        EXPECT_EQ(records[i].error.rfind("refused: ", 0), 0u) << records[i].error;
    }
    EXPECT_EQ(server.connections(), 1);
}

TEST(ProxyMalformed, SocksRefusalsInSocksTerms) {
    TestProxy p("allow=allowed.test");
    auto answer = [&](const std::string& input) {
        RawClient c = RawClient::tcp(p.port);
        c.send_all(input);
        return c.read_all();
    };
    EXPECT_EQ(answer(std::string("\x05\x01\x02", 3)), std::string("\x05\xff", 2));  // no "no auth"
    EXPECT_EQ(answer(std::string("\x05\x01\x00\x05\x02\x00\x01\x7f\x00\x00\x01\x00\x50", 13)),
              std::string("\x05\x00\x05\x07\x00\x01\0\0\0\0\0\0", 12));  // BIND
    EXPECT_EQ(answer(std::string("\x05\x01\x00\x05\x01\x00\x09", 7)),
              std::string("\x05\x00\x05\x08\x00\x01\0\0\0\0\0\0", 12));  // address type
    EXPECT_EQ(answer(std::string("\x04\x01\x00\x50\x7f\x00\x00\x01\x00", 9)),
              std::string("\x00\x5b\0\0\0\0\0\0", 8));  // SOCKS4: rejected
    EXPECT_EQ(answer(std::string("\x05\x00", 2)), "");   // no methods: closed
    // A name that is an IPv6 literal in brackets: refused by the policy.
    EXPECT_EQ(answer(std::string("\x05\x01\x00\x05\x01\x00\x03\x05[::1]\x00\x50", 15)),
              std::string("\x05\x00\x05\x02\x00\x01\0\0\0\0\0\0", 12));
    auto records = p.records(6);
    ASSERT_EQ(records.size(), 6u);
    int bind = 0, bracketed = 0;
    for (const auto& r : records) {
        if (r.url == "[::1]:80") {  // not [[::1]]:80 (red team, 2026-12-06)
            ++bracketed;
            continue;
        }
        EXPECT_EQ(r.rule, "malformed request") << r.error;
        // A whole request refused is recorded with its target, not as host '' port 0 (red
        // team, 2026-12-06).
        if (r.error.find("BIND") != std::string::npos) {
            ++bind;
            EXPECT_EQ(r.host, "127.0.0.1");
            EXPECT_EQ(r.port, 80);
            EXPECT_EQ(r.url, "127.0.0.1:80");
        }
    }
    EXPECT_EQ(bind, 1);
    EXPECT_EQ(bracketed, 1);
}

TEST(ProxySlowClients, AStalledHeadIsCutAndOthersAreServedMeanwhile) {
    RecordingServer server(kReply, true);
    microvm::proxy::Limits limits;
    limits.handshake_timeout = std::chrono::milliseconds(1500);
    TestProxy p("allow=allowed.test", true, limits);
    std::vector<RawClient> stalled;
    for (int i = 0; i < 20; ++i) {
        stalled.push_back(RawClient::tcp(p.port));
        stalled.back().send_all("CONNECT allowed.test:");
    }
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(good_request(p, server.port()), kReply);
    // Served while the stalled ones still wait for their deadline, not behind them.
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1000ms);
    for (RawClient& c : stalled) {
        const std::string answer = c.read_all(4s);
        EXPECT_EQ(first_line(answer), "HTTP/1.1 408 Request Timeout");
    }
    const auto elapsed = std::chrono::steady_clock::now() - t0;
    EXPECT_GT(elapsed, 1000ms);
    EXPECT_LT(elapsed, 3000ms);
    auto records = p.records(21);
    ASSERT_EQ(records.size(), 21u);
    int timeouts = 0;
    for (const auto& r : records) timeouts += r.rule == "handshake timeout" ? 1 : 0;
    EXPECT_EQ(timeouts, 20);
}

TEST(ProxySlowClients, TricklingBytesDoesNotExtendTheDeadline) {
    microvm::proxy::Limits limits;
    limits.handshake_timeout = std::chrono::milliseconds(300);
    TestProxy p("allow=allowed.test", true, limits);
    RawClient c = RawClient::tcp(p.port);
    const std::string head = "CONNECT allowed.test:443 HTTP/1.1\r\nX-Slow: ";
    const auto t0 = std::chrono::steady_clock::now();
    for (char ch : head + std::string(100, 'a')) {  // 2.8 s of bytes, unless answered before
        pollfd answered{c.fd(), POLLIN, 0};
        if (::poll(&answered, 1, 0) > 0 || !c.send_all(std::string(1, ch))) break;
        std::this_thread::sleep_for(20ms);
    }
    EXPECT_EQ(first_line(c.read_all()), "HTTP/1.1 408 Request Timeout");
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);
}

// A head trickled a byte at a time ("\r" and "\n" apart) is parsed only as its lines complete
// (each byte had parsed the whole head again), and still served; a control byte in it is still
// refused at once, not at the handshake deadline (a review, 2026-12-06).
TEST(ProxyHttp, ATrickledHeadIsServedAndItsControlBytesRefusedAtOnce) {
    RecordingServer server(kReply, true);
    TestProxy p("allow=allowed.test");
    const std::string host = authority("allowed.test", server.port());
    {
        RawClient c = RawClient::tcp(p.port);
        const int one = 1;
        ::setsockopt(c.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        for (char ch : "GET http://" + host + "/ HTTP/1.1\r\nHost: " + host + "\r\nX-Pad: abc\r\n\r\n") {
            ASSERT_TRUE(c.send_all(std::string(1, ch)));
            std::this_thread::sleep_for(1ms);
        }
        EXPECT_EQ(first_line(c.read_head()), "HTTP/1.1 200 OK");
    }
    RawClient c = RawClient::tcp(p.port);
    ASSERT_TRUE(c.send_all("GET http://" + host + "/ HTTP/1.1\r\n"));
    std::this_thread::sleep_for(50ms);
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(c.send_all(std::string("X-Bad: a\x01b", 11)));  // no line end
    EXPECT_EQ(first_line(c.read_head()), "HTTP/1.1 400 Bad Request");
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);  // the handshake deadline is 10 s
}

TEST(ProxySlowClients, HalfClosedClients) {
    RecordingServer server(kReply, true);
    TestProxy p("allow=allowed.test");
    {   // the head cut short by the client's end of input
        RawClient c = RawClient::tcp(p.port);
        c.send_all("CONNECT allowed.test:443 HTTP/1.1\r\n");
        c.shutdown_write();
        const std::string answer = c.read_all();
        EXPECT_EQ(first_line(answer), "HTTP/1.1 400 Bad Request");
        EXPECT_NE(answer.find("before the request head was complete"), std::string::npos);
    }
    {   // nothing at all
        RawClient c = RawClient::tcp(p.port);
        c.shutdown_write();
        EXPECT_EQ(c.read_all(), "");
    }
    {   // a complete request, then the end of input: answered in full
        RawClient c = RawClient::tcp(p.port);
        const std::string host = authority("allowed.test", server.port());
        c.send_all("GET http://" + host + "/ HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
        c.shutdown_write();
        EXPECT_EQ(c.read_all(), kReply);
    }
    auto records = p.records(3);
    ASSERT_EQ(records.size(), 3u);
    EXPECT_EQ(records[1].error, "the client closed without a request");
    EXPECT_EQ(records[2].allowed, true);
}

TEST(ProxyLimits, IdleTunnelsAreCut) {
    RecordingServer server("late", false);  // waits for the end of input that never comes
    microvm::proxy::Limits limits;
    limits.idle_timeout = std::chrono::milliseconds(300);
    TestProxy p("allow=allowed.test", true, limits);
    RawClient c = RawClient::tcp(p.port);
    c.send_all(connect_request(authority("allowed.test", server.port())) + client_hello("allowed.test"));
    const auto t0 = std::chrono::steady_clock::now();
    const std::string got = c.read_all(3s);
    EXPECT_EQ(got, "HTTP/1.1 200 Connection established\r\n\r\n");
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);
    auto records = p.records(1);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].error, "cut: idle for 300 ms");
    EXPECT_EQ(records[0].allowed, true);
}

TEST(ProxyLimits, ConnectionsPerExecution) {
    RecordingServer server(kReply, true);
    microvm::proxy::Limits limits;
    limits.max_connections = 2;
    TestProxy p("allow=allowed.test", true, limits);
    EXPECT_EQ(good_request(p, server.port()), kReply);
    EXPECT_EQ(good_request(p, server.port()), kReply);
    const std::string third = good_request(p, server.port());
    EXPECT_EQ(first_line(third), "HTTP/1.1 429 Too Many Requests");
    EXPECT_EQ(server.connections(), 2);
    auto records = p.records(3);
    ASSERT_EQ(records.size(), 3u);
    EXPECT_EQ(records[2].rule, "limit: 2 connections per execution");
    EXPECT_EQ(records[2].allowed, false);
}

// Each address tried is a connection the proxy opens: a name with three addresses took three
// connects for the count of one (red team, 2026-12-06: six of them under a limit of 1).
TEST(ProxyLimits, EachAddressTriedCountsAsAConnection) {
    RecordingServer server(kReply, true);
    microvm::proxy::Limits limits;
    limits.max_connections = 2;
    TestProxy p("allow=allowed.test,many.test", true, limits);
    RawClient c = RawClient::tcp(p.port);
    c.send_all(connect_request(authority("many.test", closed_port())));
    EXPECT_EQ(first_line(c.read_all()), "HTTP/1.1 502 Bad Gateway");
    EXPECT_EQ(first_line(good_request(p, server.port())), "HTTP/1.1 429 Too Many Requests");
    EXPECT_EQ(server.connections(), 0);
    auto records = p.records(2);
    ASSERT_EQ(records.size(), 2u);
    EXPECT_NE(records[0].error.find("no other address tried: limit of 2 connections per execution"), std::string::npos)
        << records[0].error;
    EXPECT_EQ(records[1].rule, "limit: 2 connections per execution");
}

// A name lookup is an attempt of its own: it counts as the connection it is for, whether or not
// one follows. Names that did not resolve, or resolved to refused addresses, were never counted,
// so a program could send data out in the names it looked up, as many as it liked (red team,
// 2026-12-07: 1,120 lookups of <data>.x.nx.test under a limit of 3 connections).
TEST(ProxyLimits, NameLookupsCountAsConnections) {
    struct CountingResolver final : microvm::proxy::Resolver {
        std::shared_ptr<microvm::proxy::Resolver> inner = test_resolver();
        std::atomic<int> asked{0};
        void resolve(const std::string& name, Callback done) override {
            ++asked;
            inner->resolve(name, std::move(done));
        }
    };
    auto resolver = std::make_shared<CountingResolver>();
    microvm::proxy::ProxyOptions options;
    options.resolver = resolver;
    RecordingServer server(kReply, true);
    microvm::proxy::Limits limits;
    limits.max_connections = 3;
    TestProxy p("allow=*.nx.test,metadata.test,allowed.test", true, limits, options);
    for (int i = 0; i < 2; ++i) {
        RawClient c = RawClient::tcp(p.port);
        c.send_all(connect_request("d" + std::to_string(i) + ".nx.test:443"));
        EXPECT_EQ(first_line(c.read_all()), "HTTP/1.1 502 Bad Gateway");
    }
    RawClient refused = RawClient::tcp(p.port);
    refused.send_all(connect_request("metadata.test:80"));
    EXPECT_EQ(first_line(refused.read_all()), "HTTP/1.1 403 Forbidden");
    for (int i = 2; i < 12; ++i) {
        RawClient c = RawClient::tcp(p.port);
        c.send_all(connect_request("d" + std::to_string(i) + ".nx.test:443"));
        EXPECT_EQ(first_line(c.read_all()), "HTTP/1.1 429 Too Many Requests") << i;
    }
    EXPECT_EQ(first_line(good_request(p, server.port())), "HTTP/1.1 429 Too Many Requests");
    EXPECT_EQ(resolver->asked.load(), 3);
    EXPECT_EQ(server.connections(), 0);
    auto records = p.records(14);
    ASSERT_EQ(records.size(), 14u);
    EXPECT_EQ(records[13].rule, "limit: 3 connections per execution");
}

// An upload to a server that does not read: the kernel holds a bounded part of it for the server
// (upload_buffer_bytes; TCP's autotuning took 4 MiB per connection), and when the execution ends
// what was still on its way is reset, not left to an orphaned socket the kernel kept for minutes
// (red team, 2026-12-06: 400 MB for 5 min 45 s after one run). The server sees the reset.
TEST(ProxyLimits, AnUploadToAServerThatDoesNotReadHoldsLittleAndIsResetAtTheEnd) {
    std::atomic<bool> read_now{false};
    std::atomic<int> last_errno{-1};
    std::atomic<uint64_t> read_total{0};
    RawServer sink([&](int fd) {
        const int small = 64 * 1024;
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        while (!read_now) std::this_thread::sleep_for(10ms);
        char buf[65536];
        for (;;) {
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n > 0) {
                read_total += static_cast<uint64_t>(n);
                continue;
            }
            last_errno = n == 0 ? 0 : errno;
            return;
        }
    });
    TestProxy p("allow=allowed.test");
    RawClient c = RawClient::tcp(p.port);
    const std::string host = authority("allowed.test", sink.port());
    ASSERT_TRUE(c.send_all("POST http://" + host + "/ HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 100000000\r\n\r\n"));
    const std::string chunk(64 * 1024, 'u');
    uint64_t sent = 0;
    for (auto until = std::chrono::steady_clock::now() + 3s; std::chrono::steady_clock::now() < until && sent < (64u << 20);) {
        const ssize_t n = ::send(c.fd(), chunk.data(), chunk.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<uint64_t>(n);
        } else {
            std::this_thread::sleep_for(20ms);  // everything on the way is full
        }
    }
    std::this_thread::sleep_for(200ms);
    auto records = p.execution.finish();
    read_now = true;
    ASSERT_TRUE(sink.all_closed_within(5s));
    ASSERT_EQ(records.size(), 1u);
    // Passed on to the server's connection: its small receive buffer, the proxy's send buffer
    // (256 KiB, doubled by the kernel) and one pipe (1 MiB) at most.
    EXPECT_LT(records[0].bytes_sent, 2u << 20) << "sent " << sent << ", the sink read " << read_total;
    EXPECT_EQ(last_errno, ECONNRESET) << "the sink read " << read_total << " bytes, then "
                                      << (last_errno == 0 ? "an end of input" : std::strerror(last_errno));
}

// The bytes waiting in the receive queue of this process's TCP socket connected to 127.0.0.1:port
// (/proc/net/tcp), or -1 when there is none.
long long receive_queue_toward(uint16_t port) {
    std::ifstream in("/proc/net/tcp");
    std::string line;
    std::getline(in, line);  // the header
    char remote[16];
    std::snprintf(remote, sizeof remote, "0100007F:%04X", port);
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string slot, local, rem, state, queues;
        fields >> slot >> local >> rem >> state >> queues;
        if (rem != remote || state != "01") continue;  // established, toward the server
        return std::stoll(queues.substr(queues.find(':') + 1), nullptr, 16);
    }
    return -1;
}

// A download the client does not read: the server fills what the proxy's socket toward it takes,
// which TCP's autotuning grew to 17 MiB per connection, host memory no limit of the sandbox's
// covers (red team, 2026-12-07: 532 MiB for the 31 connections of a run under --memory 32). The
// proxy's buffer is fixed (ProxyOptions::download_buffer_bytes: 2 MiB, doubled by the kernel).
TEST(ProxyLimits, ADownloadTheClientDoesNotReadHoldsABoundedBuffer) {
    std::atomic<bool> stop{false};
    RawServer source([&](int fd) {
        char request[4096];
        if (::recv(fd, request, sizeof request, 0) <= 0) return;
        const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n";
        ::send(fd, head.data(), head.size(), MSG_NOSIGNAL);
        const std::string chunk(256 * 1024, 'd');
        while (!stop) {
            if (::send(fd, chunk.data(), chunk.size(), MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
                if (errno != EAGAIN) return;
                std::this_thread::sleep_for(5ms);
            }
        }
    });
    TestProxy p("allow=allowed.test");
    RawClient c = RawClient::tcp(p.port);
    const std::string host = authority("allowed.test", source.port());
    ASSERT_TRUE(c.send_all("GET http://" + host + "/ HTTP/1.1\r\nHost: " + host + "\r\n\r\n"));
    // The queue grows while the server can send; it is measured once it has stopped growing.
    long long queued = -1, before = -2;
    for (auto until = std::chrono::steady_clock::now() + 5s; std::chrono::steady_clock::now() < until && queued != before;) {
        before = queued;
        std::this_thread::sleep_for(300ms);
        queued = receive_queue_toward(source.port());
    }
    stop = true;
    ASSERT_GE(queued, 0) << "no connection of the proxy's toward the server";
    EXPECT_GT(queued, 1 << 20) << "the download did not fill the window";
    EXPECT_LE(queued, 5 << 20) << "bytes held in the proxy's receive queue toward the server";
}

// A forwarded request whose client went away before its declared body was sent is recorded so,
// not as a request that ran (red team, 2026-12-06: cut uploads were recorded without an error).
TEST(ProxyHttp, ARequestWhoseBodyWasCutSaysSo) {
    RawServer server([](int fd) {
        char buf[4096];
        while (::recv(fd, buf, sizeof buf, 0) > 0) {
        }
    });
    TestProxy p("allow=allowed.test");
    {
        RawClient c = RawClient::tcp(p.port);
        const std::string host = authority("allowed.test", server.port());
        ASSERT_TRUE(c.send_all("POST http://" + host + "/ HTTP/1.1\r\nHost: " + host +
                               "\r\nContent-Length: 1000\r\n\r\n0123456789"));
        std::this_thread::sleep_for(200ms);
        const linger reset{1, 0};
        ::setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    }  // closed: reset
    auto records = p.records(1);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].allowed, true);
    EXPECT_EQ(records[0].error, "the request's body was not all sent: 10 of 1000 bytes (reset by the client)");
}

// What a socket's reader sees at its end: 0 for an end of input, else the errno (ECONNRESET for
// a reset), after reading everything before it.
int end_of(int fd, uint64_t* total = nullptr) {
    char buf[65536];
    for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n > 0) {
            if (total) *total += static_cast<uint64_t>(n);
            continue;
        }
        return n == 0 ? 0 : errno;
    }
}

// A response the proxy cuts ends in a reset, so that the client does not take what it got for the
// whole response: here the idle cut of a server that stalls mid-body, with nothing left on its
// way (a review, 2026-12-06: such a cut ended in a plain end of input).
TEST(ProxyLimits, AResponseCutByTheProxyEndsInAReset) {
    std::atomic<bool> done{false};
    RawServer server([&](int fd) {
        std::string head;
        char ch;
        while (head.find("\r\n\r\n") == std::string::npos && ::recv(fd, &ch, 1, 0) == 1) head += ch;
        const std::string partial = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nabc";
        ::send(fd, partial.data(), partial.size(), MSG_NOSIGNAL);
        while (!done) std::this_thread::sleep_for(10ms);  // stalls
    });
    microvm::proxy::Limits limits;
    limits.idle_timeout = std::chrono::milliseconds(300);
    TestProxy p("allow=allowed.test", true, limits);
    RawClient c = RawClient::tcp(p.port);
    const std::string host = authority("allowed.test", server.port());
    ASSERT_TRUE(c.send_all("GET http://" + host + "/ HTTP/1.1\r\nHost: " + host + "\r\n\r\n"));
    uint64_t got = 0;
    EXPECT_EQ(end_of(c.fd(), &got), ECONNRESET) << "after " << got << " bytes";
    done = true;
    auto records = p.records(1);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].error, "cut: idle for 300 ms");
    EXPECT_EQ(got, records[0].bytes_received);  // what came before the reset is all there
}

// A server that resets a tunnel after reading the client's bytes and answering a few: the
// record says the server reset it, with what went each way before (every byte the server read,
// every byte the client got). Before, such a record had no error, as a tunnel run to its end.
TEST(ProxyConnect, BytesBeforeAServerResetAreRecorded) {
    const std::string upload = client_hello("allowed.test") + std::string(256 * 1024, 'u');
    std::atomic<uint64_t> read_by_server{0};
    RawServer server([&](int fd) {
        char buf[65536];
        while (read_by_server < upload.size()) {
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) return;
            read_by_server += static_cast<uint64_t>(n);
        }
        ::send(fd, "abcde", 5, MSG_NOSIGNAL);
        std::this_thread::sleep_for(200ms);  // the answer reaches the client first
        const linger reset{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    });  // the handler's socket is closed after it returns: a reset
    TestProxy p("allow=allowed.test");
    RawClient c = RawClient::tcp(p.port);
    ASSERT_TRUE(c.send_all(connect_request(authority("allowed.test", server.port()))));
    EXPECT_EQ(c.read_head(), "HTTP/1.1 200 Connection established\r\n\r\n");
    ASSERT_TRUE(c.send_all(upload));
    uint64_t got = 0;
    end_of(c.fd(), &got);
    EXPECT_EQ(got, 5u);
    auto records = p.records(1);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].allowed, true);
    EXPECT_EQ(records[0].error, "reset by the server");
    EXPECT_EQ(records[0].bytes_sent, read_by_server.load());
    EXPECT_EQ(records[0].bytes_sent, upload.size());
    EXPECT_EQ(records[0].bytes_received, 5u);
}

// A server that means to read little of an upload: a small receive buffer, the head read.
void take_head_of_upload(int fd) {
    const int small = 64 * 1024;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    std::string head;
    char ch;
    while (head.find("\r\n\r\n") == std::string::npos && ::recv(fd, &ch, 1, 0) == 1) head += ch;
}

// A server that answers early (413) and stops reading: the request completed, so nothing is
// recorded as an error, and the rest of the upload still queued for that server is reset with
// the connection, not left to an orphaned socket (a review, 2026-12-06: 0.5 MB in LAST-ACK).
TEST(ProxyHttp, AnEarlyAnswerCompletesAndResetsTheUploadsRest) {
    std::atomic<bool> read_now{false};
    std::atomic<int> server_end{-1};
    RawServer server([&](int fd) {
        take_head_of_upload(fd);
        // The answer once the upload has backed up toward this server (the client sends for a
        // second): answered at once, on a loaded machine the proxy could have nothing queued
        // for it, and closed plainly (1 run in 12 under two parallel runs).
        std::this_thread::sleep_for(300ms);
        const std::string answer = "HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        ::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
        ::shutdown(fd, SHUT_WR);
        while (!read_now) std::this_thread::sleep_for(10ms);
        server_end = end_of(fd);
    });
    TestProxy p("allow=allowed.test");
    RawClient c = RawClient::tcp(p.port);
    const std::string host = authority("allowed.test", server.port());
    ASSERT_TRUE(c.send_all("POST http://" + host + "/ HTTP/1.1\r\nHost: " + host +
                           "\r\nContent-Length: 100000000\r\n\r\n"));
    const std::string chunk(64 * 1024, 'u');
    for (auto until = std::chrono::steady_clock::now() + 1s; std::chrono::steady_clock::now() < until;) {
        if (::send(c.fd(), chunk.data(), chunk.size(), MSG_DONTWAIT | MSG_NOSIGNAL) <= 0) std::this_thread::sleep_for(20ms);
    }
    EXPECT_EQ(first_line(c.read_head()), "HTTP/1.1 413 Content Too Large");
    auto records = p.records(1);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].status, 413);
    EXPECT_EQ(records[0].error, "");  // an early answer, not a failure
    read_now = true;
    ASSERT_TRUE(server.all_closed_within(5s));
    EXPECT_EQ(server_end, ECONNRESET);
}

// A large early answer to a client that has not sent its whole body: the answer is all
// delivered before the connection closes. Closed at once, the client's unread upload made the
// close a reset that threw away the end of the answer still queued toward the client (113 KB of
// 1 MiB arrived); and a client that had ended its side with its body unfinished got a reset at
// the end of the drain (a review, 2026-12-06). Both clients read only after a while.
// max_bytes: the execution's byte limit; the drain after the answer counts against it, and a client
// that sends past it loses the rest of the answer (whole: false).
void expect_early_answer(bool client_half_closes, uint64_t max_bytes = 0, bool whole = true) {
    const size_t answer_body = 1024 * 1024;
    std::atomic<bool> done{false};
    RawServer server([&](int fd) {
        take_head_of_upload(fd);
        const std::string answer = "HTTP/1.1 413 Content Too Large\r\nContent-Length: " + std::to_string(answer_body) +
                                   "\r\nConnection: close\r\n\r\n" + std::string(answer_body, 'a');
        for (size_t sent = 0; sent < answer.size();) {
            const ssize_t n = ::send(fd, answer.data() + sent, answer.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) return;
            sent += static_cast<size_t>(n);
        }
        ::shutdown(fd, SHUT_WR);
        while (!done) std::this_thread::sleep_for(10ms);  // never reads the upload
    });
    microvm::proxy::Limits limits;
    if (max_bytes) limits.max_bytes = max_bytes;
    TestProxy p("allow=allowed.test", true, limits);
    RawClient c = RawClient::tcp(p.port);
    const int small = 64 * 1024;  // the answer waits in the proxy's queue, not in this client's
    ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    const std::string host = authority("allowed.test", server.port());
    ASSERT_TRUE(c.send_all("POST http://" + host + "/ HTTP/1.1\r\nHost: " + host +
                           "\r\nContent-Length: 100000000\r\n\r\nabc"));
    if (client_half_closes) {
        c.shutdown_write();
        std::this_thread::sleep_for(1500ms);  // inside the proxy's 2 s linger
    } else {
        const std::string chunk(64 * 1024, 'u');
        for (auto until = std::chrono::steady_clock::now() + 1s; std::chrono::steady_clock::now() < until;) {
            if (::send(c.fd(), chunk.data(), chunk.size(), MSG_DONTWAIT | MSG_NOSIGNAL) <= 0)
                std::this_thread::sleep_for(20ms);
        }
    }
    EXPECT_EQ(first_line(c.read_head()), "HTTP/1.1 413 Content Too Large");
    const size_t got = c.read_exactly(answer_body).size();
    if (whole) {
        EXPECT_EQ(got, answer_body);
    } else {
        EXPECT_LT(got, answer_body);
    }
    done = true;
    auto records = p.records(1);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].error, "");
    ASSERT_TRUE(server.all_closed_within(5s));
}

TEST(ProxyHttp, ALargeEarlyAnswerReachesAClientThatIsStillSending) { expect_early_answer(false); }

TEST(ProxyHttp, ALargeEarlyAnswerReachesAClientThatEndedItsSideEarly) { expect_early_answer(true); }

// The drain is no way around the byte limit: past it, the connection ends.
TEST(ProxyLimits, TheDrainAfterAnEarlyAnswerCountsAgainstTheByteLimit) {
    expect_early_answer(false, 3u << 20, false);
}

TEST(ProxyLimits, BytesPerExecution) {
    const std::string body(10000, 'b');
    RecordingServer server("HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n" + body, true);
    microvm::proxy::Limits limits;
    limits.max_bytes = 1000;
    TestProxy p("allow=allowed.test", true, limits);
    const std::string got = good_request(p, server.port());
    EXPECT_EQ(first_line(got), "HTTP/1.1 200 OK");
    const std::string again = good_request(p, server.port());
    EXPECT_EQ(first_line(again), "HTTP/1.1 429 Too Many Requests");
    auto records = p.records(2);
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[0].bytes_sent + records[0].bytes_received, 1000u);  // exactly the budget
    EXPECT_EQ(got.size(), records[0].bytes_received);
    EXPECT_EQ(records[0].error, "cut: limit of 1000 bytes per execution reached");
    EXPECT_EQ(records[1].rule, "limit: 1000 bytes per execution");
}

TEST(ProxyLimits, ConnectionsOpenAtOnce) {
    microvm::proxy::Limits limits;
    limits.max_concurrent = 1;
    TestProxy p("allow=allowed.test", true, limits);
    RawClient holder = RawClient::tcp(p.port);
    holder.send_all("CONNECT allowed");  // open, mid-head
    std::this_thread::sleep_for(50ms);
    RawClient extra = RawClient::tcp(p.port);
    EXPECT_EQ(extra.read_all(2s), "");  // closed on accept
    auto records = p.records(1);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].rule, "limit: 1 connections open at once");
}

TEST(ProxyLimits, RecordsPerExecution) {
    microvm::proxy::Limits limits;
    limits.max_records = 3;
    TestProxy p("deny", true, limits);
    for (int i = 0; i < 5; ++i) {
        RawClient c = RawClient::tcp(p.port);
        c.send_all(connect_request("allowed.test:443"));
        c.read_all();
    }
    std::this_thread::sleep_for(100ms);
    auto records = p.execution.take_records();
    ASSERT_EQ(records.size(), 4u);
    EXPECT_NE(records[3].error.find("2 further connection attempts"), std::string::npos);
    EXPECT_NE(records[3].error.find("refused: network policy deny"), std::string::npos);
}

// The attack: a program opens more empty connections than the records kept, then sends a body
// through an allowed one. That connection, its host and its bytes must be in the record.
TEST(ProxyLimits, EmptyAttemptsCannotHideAnAllowedConnection) {
    RecordingServer server(kReply, true);
    microvm::proxy::Limits limits;
    limits.max_records = 16;
    TestProxy p("allow=allowed.test", true, limits);
    for (int i = 0; i < 20; ++i) {
        RawClient empty = RawClient::tcp(p.port);
        empty.shutdown_write();
        EXPECT_EQ(empty.read_all(), "");  // closed once recorded
    }
    for (int i = 0; i < 3; ++i) {
        RawClient refused = RawClient::tcp(p.port);
        refused.send_all(connect_request("other.test:443"));
        EXPECT_EQ(first_line(refused.read_all()), "HTTP/1.1 403 Forbidden");
    }
    const std::string body(100 * 1000, 'x');
    const std::string host = authority("allowed.test", server.port());
    const std::string head = "POST http://" + host + "/upload HTTP/1.1\r\nHost: " + host +
                             "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    {
        RawClient post = RawClient::tcp(p.port);
        ASSERT_TRUE(post.send_all(head + body));
        EXPECT_EQ(post.read_all(), kReply);
    }
    std::this_thread::sleep_for(100ms);
    auto records = p.execution.finish();
    ASSERT_EQ(records.size(), 16u + 1 + 2);  // 16 kept, the POST, a count per reason
    const auto& allowed = records[16];
    EXPECT_EQ(allowed.allowed, true);
    EXPECT_EQ(allowed.host, "allowed.test");
    EXPECT_EQ(allowed.method, "POST");
    EXPECT_GE(allowed.bytes_sent, body.size());
    EXPECT_EQ(allowed.bytes_received, kReply.size());
    EXPECT_EQ(records[17].error,
              "4 further connection attempts were not recorded (limit of 16 records of attempts "
              "that reached no server): refused: no complete request");
    EXPECT_EQ(records[18].error,
              "3 further connection attempts were not recorded (limit of 16 records of attempts "
              "that reached no server): refused: not in the allow list");
}

// A resolver that never answers in time: the proxy's own deadline must end the wait.
class SilentResolver : public microvm::proxy::Resolver {
  public:
    ~SilentResolver() override {
        for (auto& done : pending_) done({{}, "shut down"});
    }
    void resolve(const std::string&, Callback done) override { pending_.push_back(std::move(done)); }

  private:
    std::vector<Callback> pending_;
};

TEST(ProxyTimeouts, ResolutionAndConnectionFailures) {
    microvm::proxy::ProxyOptions options;
    options.resolver = std::make_shared<SilentResolver>();
    options.resolve_timeout = std::chrono::milliseconds(200);
    TestProxy slow("allow=allowed.test", true, {}, options);
    RawClient c = RawClient::tcp(slow.port);
    c.send_all(connect_request("allowed.test:443"));
    const std::string answer = c.read_all();
    EXPECT_EQ(first_line(answer), "HTTP/1.1 504 Gateway Timeout");
    auto records = slow.records(1);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].error, "resolving allowed.test took longer than 200 ms");
    EXPECT_EQ(records[0].allowed, true);  // allowed, but it could not be done

    TestProxy p("allow=allowed.test,unknown.test");
    const uint16_t port = closed_port();
    RawClient refused = RawClient::tcp(p.port);
    refused.send_all(connect_request(authority("allowed.test", port)));
    EXPECT_EQ(first_line(refused.read_all()), "HTTP/1.1 502 Bad Gateway");
    RawClient unknown = RawClient::tcp(p.port);
    unknown.send_all(connect_request("unknown.test:443"));
    EXPECT_EQ(first_line(unknown.read_all()), "HTTP/1.1 502 Bad Gateway");
    auto failures = p.records(2);
    ASSERT_EQ(failures.size(), 2u);
    EXPECT_EQ(failures[0].error, "cannot connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
    EXPECT_NE(failures[1].error.find("cannot resolve unknown.test"), std::string::npos);
}

TEST(ProxyLifecycle, FinishCutsOpenConnectionsAndStopClosesEverything) {
    const int baseline = open_fds();
    {
        RecordingServer server("x", false);
        TestProxy p("allow=allowed.test");
        RawClient tunnel = RawClient::tcp(p.port);
        tunnel.send_all(connect_request(authority("allowed.test", server.port())) + client_hello("allowed.test"));
        EXPECT_EQ(tunnel.read_head(), "HTTP/1.1 200 Connection established\r\n\r\n");
        std::this_thread::sleep_for(50ms);  // relaying
        auto records = p.execution.finish();
        ASSERT_EQ(records.size(), 1u);
        EXPECT_EQ(records[0].error, "cut: execution ended");
        EXPECT_EQ(records[0].bytes_sent, client_hello("allowed.test").size());
        EXPECT_EQ(tunnel.read_all(), "");  // the client sees the end
        EXPECT_FALSE(p.execution.listen_tcp());

        auto other = p.proxy.open({policy("allow=allowed.test"), {}, true});
        ASSERT_TRUE(other);
        auto port = other->listen_tcp();
        ASSERT_TRUE(port);
        RawClient open_client = RawClient::tcp(*port);
        open_client.send_all("CONNECT allowed.test:1");
        std::this_thread::sleep_for(50ms);
        p.proxy.stop();
        auto cut = other->take_records();
        ASSERT_EQ(cut.size(), 1u);
        EXPECT_EQ(cut[0].error, "cut: proxy stopped");
        EXPECT_FALSE(p.proxy.start());
        EXPECT_FALSE(other->listen_tcp());
    }
    EXPECT_EQ(open_fds_settled(baseline), baseline);
}

// A tunnel cut before its ClientHello was complete was allowed by name only: its record says so,
// and is not read as a tunnel that passed the check (red team, 2026-12-06).
TEST(ProxyLifecycle, ATunnelCutBeforeItsFirstBytesWereJudgedSaysSo) {
    RecordingServer server("x", false);
    TestProxy p("allow=allowed.test");
    RawClient tunnel = RawClient::tcp(p.port);
    const std::string hello = client_hello("allowed.test");
    tunnel.send_all(connect_request(authority("allowed.test", server.port())) + hello.substr(0, hello.size() - 3));
    EXPECT_EQ(tunnel.read_head(), "HTTP/1.1 200 Connection established\r\n\r\n");
    std::this_thread::sleep_for(50ms);
    auto records = p.execution.finish();
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].allowed, true);
    EXPECT_EQ(records[0].error, "cut: execution ended before the tunnel's first bytes were judged");
    EXPECT_EQ(records[0].bytes_sent, 0u);
}

TEST(ProxyLifecycle, NoDescriptorOutlivesItsConnection) {
    RecordingServer server(kReply, true);
    TestProxy p("allow=allowed.test");
    RawClient warmup = RawClient::tcp(p.port);  // (the first accept may allocate lazily)
    warmup.shutdown_write();
    warmup.read_all();
    p.records(1);
    const int baseline = open_fds();
    for (int i = 0; i < 10; ++i) {
        EXPECT_EQ(good_request(p, server.port()), kReply);  // relayed: pipes and sockets
        RawClient refused = RawClient::tcp(p.port);
        refused.send_all(connect_request("other.test:443"));
        refused.read_all();
        RawClient garbage = RawClient::tcp(p.port);
        garbage.send_all("\x01\x02\r\n\r\n");
        garbage.read_all();
        RawClient sni = RawClient::tcp(p.port);
        sni.send_all(connect_request(authority("allowed.test", server.port())) + client_hello("other.test"));
        sni.read_all();
    }
    auto records = p.records(40);
    EXPECT_EQ(records.size(), 40u);
    EXPECT_EQ(open_fds_settled(baseline), baseline);
}

TEST(ProxyLifecycle, ProxyDestroyedWithoutStartOrExecutions) {
    const int baseline = open_fds();
    {
        microvm::proxy::Proxy proxy({test_resolver()});
        auto e = proxy.open({policy("deny"), {}, false});
        ASSERT_TRUE(e);
        ASSERT_TRUE(e->listen_tcp());  // before start: accepts once started (never, here)
    }
    EXPECT_EQ(open_fds(), baseline);
}

}  // namespace
}  // namespace proxytest
