// The proxy end to end, allowed traffic: plain HTTP in absolute form, CONNECT with a real TLS
// handshake, SOCKS5 with domain names, over a loopback port and a Unix socket; and the records,
// compared with what the servers saw.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "proxy_support.hpp"
#include "support/loopback_http.hpp"

namespace proxytest {
namespace {

const std::string kReply = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";

std::string authority(const std::string& host, uint16_t port) { return host + ":" + std::to_string(port); }

TEST(ProxyHttp, AbsoluteFormIsForwardedAndRecordedAsTheServerSawIt) {
    RecordingServer server(kReply, true);
    TestProxy p("allow=allowed.test");
    RawClient c = RawClient::tcp(p.port);
    const std::string host = authority("allowed.test", server.port());
    ASSERT_TRUE(c.send_all("POST http://" + host + "/path?q=1 HTTP/1.1\r\nHost: " + host +
                           "\r\nProxy-Connection: keep-alive\r\nContent-Length: 4\r\n\r\nbody"));
    EXPECT_EQ(c.read_all(), kReply);
    auto seen = server.seen(1);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].received, "POST /path?q=1 HTTP/1.1\r\nHost: " + host +
                                    "\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody");
    auto records = p.records(1);
    ASSERT_EQ(records.size(), 1u);
    const rtfs::NetworkRequest& r = records[0];
    EXPECT_EQ(r.allowed, true);
    EXPECT_EQ(r.rule, "allow entry allowed.test");
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.url, "http://" + host + "/path?q=1");
    EXPECT_EQ(r.host, "allowed.test");
    EXPECT_EQ(r.port, server.port());
    EXPECT_EQ(r.address, "127.0.0.1:" + std::to_string(server.port()));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.bytes_sent, seen[0].received.size());
    EXPECT_EQ(r.bytes_received, seen[0].sent);
    EXPECT_EQ(r.bytes, r.bytes_received);
    EXPECT_EQ(r.error, "");
    EXPECT_GT(r.duration.count(), 0);
}

// The server is told the name the proxy judged, not the client's spelling: "ALLOWED.TEST." passed
// the check as allowed.test, and a server matching virtual hosts by exact text took it for
// another site (red team, 2026-12-06).
TEST(ProxyHttp, TheServerIsToldTheHostAsJudged) {
    RecordingServer server(kReply, true);
    TestProxy p("allow=allowed.test");
    RawClient c = RawClient::tcp(p.port);
    const std::string port = std::to_string(server.port());
    ASSERT_TRUE(c.send_all("GET http://Allowed.Test.:" + port + "/ HTTP/1.1\r\nHost: ALLOWED.TEST.:" + port + "\r\n\r\n"));
    EXPECT_EQ(c.read_all(), kReply);
    auto seen = server.seen(1);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].received, "GET / HTTP/1.1\r\nHost: allowed.test:" + port + "\r\nConnection: close\r\n\r\n");
}

TEST(ProxyHttp, CurlThroughTheProxy) {
    testsupport::LoopbackHttp server([](httplib::Server& s) {
        s.Get("/hi", [](const httplib::Request& req, httplib::Response& res) {
            res.set_content("hi " + req.get_header_value("Host"), "text/plain");
        });
    });
    TestProxy p("allow=allowed.test");
    CurlResult r = curl_get("http://" + authority("allowed.test", static_cast<uint16_t>(server.port())) + "/hi",
                            {p.http_proxy()});
    ASSERT_EQ(r.code, 0) << r.error;
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "hi allowed.test:" + std::to_string(server.port()));
    EXPECT_EQ(server.hits(), 1);
    auto records = p.records(1);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].method, "GET");
    EXPECT_EQ(records[0].status, 200);
}

TEST(ProxyConnect, TlsHandshakeEndToEnd) {
    TlsServer server({"allowed.test"});
    TestProxy p("allow=allowed.test");
    // Certificate verification on: the handshake can only succeed with the real server.
    CurlResult r = curl_get("https://" + authority("allowed.test", server.port()) + "/hello",
                            {p.http_proxy(), server.ca_pem()});
    ASSERT_EQ(r.code, 0) << r.error;
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "hello over tls");
    EXPECT_EQ(server.hits(), 1);
    auto records = p.records(1);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].method, "CONNECT");
    EXPECT_EQ(records[0].url, authority("allowed.test", server.port()));
    EXPECT_EQ(records[0].allowed, true);
    EXPECT_EQ(records[0].error, "");
    EXPECT_GT(records[0].bytes_sent, 200u);      // ClientHello and the request, encrypted
    EXPECT_GT(records[0].bytes_received, 300u);  // certificate, response
}

TEST(ProxyConnect, TunnelBytesAndHalfCloseMatchTheServer) {
    const std::string reply(3000, 'z');
    RecordingServer server(reply, false);  // reads to end of input, then answers
    TestProxy p("allow=allowed.test");
    RawClient c = RawClient::tcp(p.port);
    ASSERT_TRUE(c.send_all(connect_request(authority("allowed.test", server.port()))));
    EXPECT_EQ(c.read_head(), "HTTP/1.1 200 Connection established\r\n\r\n");
    const std::string hello = client_hello("allowed.test");
    ASSERT_TRUE(c.send_all(hello + "payload"));
    c.shutdown_write();  // the server answers only after it sees the end of input
    EXPECT_EQ(c.read_all(), reply);
    auto seen = server.seen(1);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].received, hello + "payload");
    auto records = p.records(1);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].bytes_sent, seen[0].received.size());
    EXPECT_EQ(records[0].bytes_received, reply.size());
    EXPECT_EQ(records[0].status, 0);  // inside a tunnel: not seen
}

TEST(ProxyConnect, EarlyTunnelBytesAndSplitClientHello) {
    // The ClientHello sent with the CONNECT head, in two records: judged and forwarded whole.
    RecordingServer server("ok", false);
    TestProxy p("allow=allowed.test");
    RawClient c = RawClient::tcp(p.port);
    const std::string hello = client_hello(HelloOptions{{"Allowed.Test."}, false, 30});
    ASSERT_TRUE(c.send_all(connect_request(authority("allowed.test", server.port())) + hello));
    c.shutdown_write();
    EXPECT_EQ(c.read_all(), "HTTP/1.1 200 Connection established\r\n\r\nok");
    ASSERT_EQ(server.seen(1).size(), 1u);
    EXPECT_EQ(server.seen()[0].received, hello);
}

TEST(ProxySocks5, HttpsAndHttpWithDomainNames) {
    TlsServer tls({"allowed.test"});
    testsupport::LoopbackHttp plain([](httplib::Server& s) {
        s.Get("/x", [](const httplib::Request&, httplib::Response& res) { res.set_content("plain", "text/plain"); });
    });
    TestProxy p("allow=allowed.test");
    CurlResult https = curl_get("https://" + authority("allowed.test", tls.port()) + "/hello",
                                {p.socks_proxy(), tls.ca_pem()});
    ASSERT_EQ(https.code, 0) << https.error;
    EXPECT_EQ(https.body, "hello over tls");
    // Plain HTTP has a name of its own (Host) that a tunnel would not check: the HTTP proxy
    // takes it (proxy_socks5_tunnel_test.cpp shows what SOCKS5 carries).
    CurlResult http = curl_get("http://" + authority("allowed.test", static_cast<uint16_t>(plain.port())) + "/x",
                               {p.socks_proxy()});
    EXPECT_NE(http.code, 0);
    EXPECT_EQ(plain.hits(), 0);
    auto records = p.records(2);
    ASSERT_EQ(records.size(), 2u);
    for (const auto& r : records) {
        EXPECT_EQ(r.method, "SOCKS5");
        EXPECT_EQ(r.host, "allowed.test");
    }
    if (records[0].allowed == true) std::swap(records[0], records[1]);  // recorded as they end
    EXPECT_EQ(records[0].allowed, false);
    EXPECT_EQ(records[0].rule, "a SOCKS5 tunnel carries TLS or SSH");
    EXPECT_EQ(records[1].allowed, true);
}

TEST(ProxyNames, TrailingDotCaseAndIdna) {
    RecordingServer server("ok", false);
    TestProxy p("allow=bücher.test,allowed.test");
    {   // CONNECT to the A-label; the SNI names it in another case, with a trailing dot
        RawClient c = RawClient::tcp(p.port);
        ASSERT_TRUE(c.send_all(connect_request(authority("XN--BCHER-KVA.test.", server.port()))));
        EXPECT_EQ(c.read_head(), "HTTP/1.1 200 Connection established\r\n\r\n");
        ASSERT_TRUE(c.send_all(client_hello("xn--bcher-kva.test")));
        c.shutdown_write();
        EXPECT_EQ(c.read_all(), "ok");
    }
    {   // SOCKS5 with the name in UTF-8: the proxy resolves its A-label
        RawClient c = RawClient::tcp(p.port);
        const std::string name = "bücher.test";
        std::string request = std::string("\x05\x01\x00\x05\x01\x00\x03", 7) + static_cast<char>(name.size()) + name;
        request += static_cast<char>(server.port() >> 8);
        request += static_cast<char>(server.port() & 0xff);
        ASSERT_TRUE(c.send_all(request + client_hello("xn--bcher-kva.test")));
        c.shutdown_write();
        EXPECT_EQ(c.read_all().substr(12), "ok");
    }
    auto records = p.records(2);
    ASSERT_EQ(records.size(), 2u);
    for (const auto& r : records) {
        EXPECT_EQ(r.host, "xn--bcher-kva.test");
        EXPECT_EQ(r.rule, "allow entry xn--bcher-kva.test");
    }
    EXPECT_EQ(server.seen(2).size(), 2u);
}

TEST(ProxyExecution, UnixSocketListenerAndRecordsTakenAtTheEnd) {
    char dir_template[] = "/tmp/proxy-test-XXXXXX";
    ASSERT_NE(::mkdtemp(dir_template), nullptr);
    const std::string dir = dir_template;
    const std::string path = dir + "/proxy.sock";
    RecordingServer server(kReply, true);
    microvm::proxy::Proxy proxy({test_resolver()});
    ASSERT_TRUE(proxy.start());
    auto exec = proxy.open({policy("allow=allowed.test"), {}, true});
    ASSERT_TRUE(exec);
    auto listening = exec->listen_unix(path);
    ASSERT_TRUE(listening) << listening.error().message;
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_FALSE(exec->listen_unix(path));  // exists: never replaced
    {
        RawClient c = RawClient::unix_socket(path);
        const std::string host = authority("allowed.test", server.port());
        ASSERT_TRUE(c.send_all("GET http://" + host + "/ HTTP/1.1\r\nHost: " + host + "\r\n\r\n"));
        EXPECT_EQ(c.read_all(), kReply);
    }
    auto records = exec->finish();
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].allowed, true);
    EXPECT_EQ(records[0].status, 200);
    EXPECT_FALSE(std::filesystem::exists(path));  // finish removed the socket file
    EXPECT_TRUE(exec->take_records().empty());
    std::filesystem::remove_all(dir);
}

TEST(ProxyExecution, ExecutionsShareAProxyWithTheirOwnPolicies) {
    RecordingServer server(kReply, true);
    microvm::proxy::Proxy proxy({test_resolver()});
    ASSERT_TRUE(proxy.start());
    auto a = proxy.open({policy("allow=allowed.test"), {}, true});
    auto b = proxy.open({policy("allow=other.test"), {}, true});
    ASSERT_TRUE(a && b);
    auto port_a = a->listen_tcp();
    auto port_b = b->listen_tcp();
    ASSERT_TRUE(port_a && port_b);
    auto get = [&](uint16_t port, const std::string& name) {
        RawClient c = RawClient::tcp(port);
        const std::string host = authority(name, server.port());
        c.send_all("GET http://" + host + "/ HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
        return c.read_all();
    };
    EXPECT_EQ(get(*port_a, "allowed.test"), kReply);
    EXPECT_EQ(get(*port_a, "other.test").substr(0, 12), "HTTP/1.1 403");
    EXPECT_EQ(get(*port_b, "other.test"), kReply);
    auto ra = a->finish();
    auto rb = b->finish();
    ASSERT_EQ(ra.size(), 2u);
    ASSERT_EQ(rb.size(), 1u);
    EXPECT_EQ(rb[0].host, "other.test");
    EXPECT_EQ(rb[0].allowed, true);
    EXPECT_FALSE(a->listen_tcp());  // closed
}

}  // namespace
}  // namespace proxytest

namespace proxytest {
namespace {

// A listening socket made elsewhere (a sandbox's init binds one in its own network namespace):
// adopted, it serves the execution like its own listeners, and closes with it.
TEST(ProxyAdoptedListener, ServesTheExecutionAndClosesWithIt) {
    RecordingServer server(kReply, true);
    TestProxy p("allow=allowed.test");
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof addr;
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(fd, 16), 0);
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length), 0);
    const uint16_t port = ntohs(addr.sin_port);
    ASSERT_TRUE(p.execution.adopt_listener(fd));

    RawClient c = RawClient::tcp(port);
    const std::string host = authority("allowed.test", server.port());
    ASSERT_TRUE(c.send_all("GET http://" + host + "/ HTTP/1.1\r\nHost: " + host + "\r\n\r\n"));
    EXPECT_EQ(c.read_all(), kReply);
    auto records = p.records(1);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].allowed, true);

    p.execution.close();  // the adopted listener goes with the execution
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int probe = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_NE(::connect(probe, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
    ::close(probe);
}

TEST(ProxyAdoptedListener, ADescriptorThatIsNotListeningIsRefusedAndClosed) {
    TestProxy p("allow=allowed.test");
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    auto adopted = p.execution.adopt_listener(fd);
    ASSERT_FALSE(adopted);
    EXPECT_NE(adopted.error().message.find("not a listening socket"), std::string::npos);
    EXPECT_EQ(::fcntl(fd, F_GETFD), -1);  // closed: ownership was taken
}

}  // namespace
}  // namespace proxytest
