// The proxy end to end, refused traffic: names outside the policy, block lists, IP literals,
// domain fronting (SNI mismatch), answers pointing at loopback, link-local or private addresses.
// Each refusal is answered clearly, recorded with its rule, and reaches no server.
#include <gtest/gtest.h>

#include "proxy_support.hpp"
#include "support/loopback_http.hpp"

namespace proxytest {
namespace {

std::string authority(const std::string& host, uint16_t port) { return host + ":" + std::to_string(port); }

// The status line of the proxy's answer to a CONNECT. A granted tunnel is used as a TLS client
// would: a ClientHello naming the host (none for an IP address), then the end of input.
std::string connect_status(TestProxy& p, const std::string& host, uint16_t port) {
    RawClient c = RawClient::tcp(p.port);
    c.send_all(connect_request(authority(host, port)));
    const std::string head = c.read_head();
    const std::string status = head.substr(0, head.find("\r\n"));
    if (status == "HTTP/1.1 200 Connection established") {
        const bool ip = host.find_first_not_of("0123456789.") == std::string::npos;
        c.send_all(ip ? client_hello(HelloOptions{}) : client_hello(host));
        c.shutdown_write();
        c.read_all();
    }
    return status;
}

std::string socks_request(const std::string& name, uint16_t port) {
    std::string r = std::string("\x05\x01\x00\x05\x01\x00\x03", 7) + static_cast<char>(name.size()) + name;
    r += static_cast<char>(port >> 8);
    r += static_cast<char>(port & 0xff);
    return r;
}

TEST(ProxyPolicy, OtherNamesAreRefusedInEveryProtocol) {
    RecordingServer server("x", false);
    TestProxy p("allow=allowed.test");
    const std::string target = authority("other.test", server.port());
    {
        RawClient c = RawClient::tcp(p.port);
        c.send_all(connect_request(target));
        const std::string answer = c.read_all();
        EXPECT_EQ(answer.substr(0, 24), "HTTP/1.1 403 Forbidden\r\n") << answer;
        EXPECT_NE(answer.find("refused CONNECT " + target + ": not in the allow list"), std::string::npos) << answer;
    }
    {
        RawClient c = RawClient::tcp(p.port);
        c.send_all("GET http://" + target + "/ HTTP/1.1\r\nHost: " + target + "\r\n\r\n");
        EXPECT_EQ(c.read_all().substr(0, 12), "HTTP/1.1 403");
    }
    {
        RawClient c = RawClient::tcp(p.port);
        c.send_all(socks_request("other.test", server.port()));
        EXPECT_EQ(c.read_all(), std::string("\x05\x00\x05\x02\x00\x01\0\0\0\0\0\0", 12));  // not allowed
    }
    EXPECT_EQ(server.connections(), 0);
    auto records = p.records(3);
    ASSERT_EQ(records.size(), 3u);
    for (const auto& r : records) {
        EXPECT_EQ(r.allowed, false);
        EXPECT_EQ(r.rule, "not in the allow list");
        EXPECT_EQ(r.host, "other.test");
        EXPECT_EQ(r.port, server.port());
        EXPECT_EQ(r.address, "");
        EXPECT_EQ(r.bytes_sent + r.bytes_received, 0u);
        EXPECT_EQ(r.error, "refused: not in the allow list");
    }
}

TEST(ProxyPolicy, BlockListDeniesTheListedAndAllowsTheRest) {
    testsupport::LoopbackHttp server([](httplib::Server& s) {
        s.Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok", "text/plain"); });
    });
    TestProxy p("block=other.test");
    const uint16_t port = static_cast<uint16_t>(server.port());
    CurlResult ok = curl_get("http://" + authority("allowed.test", port) + "/", {p.http_proxy()});
    EXPECT_EQ(ok.code, 0) << ok.error;
    EXPECT_EQ(ok.body, "ok");
    CurlResult blocked = curl_get("http://" + authority("other.test", port) + "/", {p.http_proxy()});
    EXPECT_EQ(blocked.status, 403);
    EXPECT_EQ(server.hits(), 1);
    auto records = p.records(2);
    ASSERT_EQ(records.size(), 2u);
    // curl is done at the end of the body: the allowed connection may be recorded second.
    if (records[0].host != "allowed.test") std::swap(records[0], records[1]);
    EXPECT_EQ(records[0].host, "allowed.test");
    EXPECT_EQ(records[0].rule, "not in the block list");
    EXPECT_EQ(records[0].allowed, true);
    EXPECT_EQ(records[1].rule, "block entry other.test");
    EXPECT_EQ(records[1].allowed, false);
}

TEST(ProxyPolicy, WildcardsAndPorts) {
    RecordingServer server("x", false);
    TestProxy p("allow=*.wild.test,allowed.test:1");
    EXPECT_EQ(connect_status(p, "a.wild.test", server.port()), "HTTP/1.1 200 Connection established");
    EXPECT_EQ(connect_status(p, "wild.test", server.port()), "HTTP/1.1 403 Forbidden");
    EXPECT_EQ(connect_status(p, "allowed.test", server.port()), "HTTP/1.1 403 Forbidden");
}

TEST(ProxyPolicy, IpLiteralsOnlyWhenListedAsIps) {
    RecordingServer server("x", false);
    TestProxy names("allow=allowed.test,loopback.test");
    EXPECT_EQ(connect_status(names, "127.0.0.1", server.port()), "HTTP/1.1 403 Forbidden");
    auto refused = names.records(1);
    ASSERT_EQ(refused.size(), 1u);
    EXPECT_NE(refused[0].rule.find("IP literal"), std::string::npos) << refused[0].rule;
    EXPECT_EQ(server.connections(), 0);
    // Listed as an address, it is explicit: it passes even the loopback guard (no test setting).
    TestProxy listed("allow=127.0.0.1", false);
    EXPECT_EQ(connect_status(listed, "127.0.0.1", server.port()), "HTTP/1.1 200 Connection established");
    // Numeric forms a resolver would read as 127.0.0.1 are no names: refused.
    EXPECT_EQ(connect_status(listed, "127.1", server.port()), "HTTP/1.1 400 Bad Request");
    EXPECT_EQ(connect_status(listed, "2130706433", server.port()), "HTTP/1.1 400 Bad Request");
    auto records = listed.records(3);
    ASSERT_EQ(records.size(), 3u);
    EXPECT_EQ(records[0].rule, "allow entry 127.0.0.1");
    EXPECT_EQ(records[1].rule, "not a valid host name or IP address");
}

TEST(ProxyPolicy, DeniedPolicyRefusesEverything) {
    TestProxy p("deny");
    EXPECT_EQ(connect_status(p, "allowed.test", 443), "HTTP/1.1 403 Forbidden");
    auto records = p.records(1);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].rule, "network policy deny");
}

TEST(ProxySni, MismatchIsRefusedBeforeAnyByteReachesTheServer) {
    RecordingServer server("x", false);
    TestProxy p("allow=allowed.test,other.test");
    RawClient c = RawClient::tcp(p.port);
    c.send_all(connect_request(authority("allowed.test", server.port())));
    EXPECT_EQ(c.read_head(), "HTTP/1.1 200 Connection established\r\n\r\n");
    c.send_all(client_hello("other.test"));
    EXPECT_EQ(c.read_all(), std::string("\x15\x03\x01\x00\x02\x02\x31", 7));  // fatal access_denied
    auto seen = server.seen(1);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].received, "");  // the server saw a connection close, nothing else
    auto records = p.records(1);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].allowed, false);
    EXPECT_EQ(records[0].rule, "TLS server name other.test does not match the tunnel's host allowed.test");
    EXPECT_EQ(records[0].bytes_sent, 0u);
}

TEST(ProxySni, DomainFrontingWithARealClientFails) {
    // curl tunnels to allowed.test (CONNECT_TO) but names other.test in TLS: fronting.
    TlsServer server({"allowed.test", "other.test"});
    TestProxy p("allow=allowed.test");
    const std::string port = std::to_string(server.port());
    CurlResult r = curl_get("https://other.test:" + port + "/hello",
                            {p.http_proxy(), server.ca_pem(), {"other.test:" + port + ":allowed.test:" + port}});
    EXPECT_NE(r.code, 0);
    EXPECT_EQ(server.hits(), 0);
    auto records = p.records(1);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].url, "allowed.test:" + port);
    EXPECT_EQ(records[0].rule, "TLS server name other.test does not match the tunnel's host allowed.test");
    // The same client without fronting gets through: the refusal was the SNI's.
    CurlResult direct = curl_get("https://allowed.test:" + port + "/hello", {p.http_proxy(), server.ca_pem()});
    EXPECT_EQ(direct.code, 0) << direct.error;
    EXPECT_EQ(server.hits(), 1);
}

TEST(ProxySni, WhatATunnelMustCarry) {
    RecordingServer server("x", false);
    TestProxy p("allow=allowed.test,127.0.0.1");
    auto tunnel = [&](const std::string& host, const std::string& first_bytes) {
        RawClient c = RawClient::tcp(p.port);
        c.send_all(connect_request(authority(host, server.port())));
        c.read_head();
        c.send_all(first_bytes);
        c.shutdown_write();
        return c.read_all();
    };
    const std::string alert = std::string("\x15\x03\x01\x00\x02\x02\x31", 7);
    EXPECT_EQ(tunnel("allowed.test", client_hello(HelloOptions{})), alert);           // no SNI
    EXPECT_EQ(tunnel("127.0.0.1", client_hello("allowed.test")), alert);              // SNI to an IP
    EXPECT_EQ(tunnel("allowed.test", "GET / HTTP/1.1\r\n\r\n"), "");                  // not TLS
    EXPECT_EQ(tunnel("allowed.test", client_hello(HelloOptions{{"allowed.test"}, true})),
              std::string("\x15\x03\x01\x00\x02\x02\x32", 7));                        // malformed
    EXPECT_EQ(tunnel("127.0.0.1", client_hello(HelloOptions{})), "x");                 // IP, no SNI: fine
    auto records = p.records(5);
    ASSERT_EQ(records.size(), 5u);
    EXPECT_EQ(records[0].rule, "TLS ClientHello without a server name");
    EXPECT_EQ(records[1].rule, "TLS server name allowed.test in a tunnel to the IP address 127.0.0.1");
    EXPECT_EQ(records[2].rule, "CONNECT carries TLS only");
    EXPECT_EQ(records[3].rule, "malformed TLS ClientHello");
    EXPECT_EQ(records[4].allowed, true);
    auto seen = server.seen(5);
    ASSERT_EQ(seen.size(), 5u);
    int nonempty = 0;
    for (const Seen& s : seen) nonempty += s.received.empty() ? 0 : 1;
    EXPECT_EQ(nonempty, 1);  // only the last tunnel carried bytes to the server
}

TEST(ProxySmuggling, ConnectionNamingContentLengthIsRefused) {
    // Dropping Content-Length as hop-by-hop while relaying the body would hand the server the
    // body as a second request, to a host nobody judged.
    RecordingServer server("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true);
    TestProxy p("allow=allowed.test");
    const std::string host = authority("allowed.test", server.port());
    const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: evil.test\r\n\r\n";
    RawClient c = RawClient::tcp(p.port);
    c.send_all("POST http://" + host + "/ HTTP/1.1\r\nHost: " + host + "\r\nConnection: Content-Length\r\n" +
               "Content-Length: " + std::to_string(smuggled.size()) + "\r\n\r\n" + smuggled);
    const std::string answer = c.read_all();
    EXPECT_EQ(answer.substr(0, 26), "HTTP/1.1 400 Bad Request\r\n") << answer;
    EXPECT_NE(answer.find("Connection header names Content-Length"), std::string::npos) << answer;
    EXPECT_EQ(server.connections(), 0);
    auto records = p.records(1);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].allowed, false);
    EXPECT_EQ(records[0].rule, "malformed request");
}

// A refusal's detail quoted the client's Host header as received: its obs-text bytes (0x9b is
// CSI to an 8-bit terminal; alone it is no valid UTF-8, which the JSON result cannot hold)
// reached the record and the answer raw (red team, LOW).
TEST(ProxySmuggling, ARefusalQuotesTheClientsBytesPrintably) {
    RecordingServer server("x", false);
    TestProxy p("allow=allowed.test");
    const std::string host = authority("allowed.test", server.port());
    RawClient c = RawClient::tcp(p.port);
    c.send_all("GET http://" + host + "/ HTTP/1.1\r\nHost: evil\x9b" "31m.test\r\n\r\n");
    const std::string answer = c.read_all();
    EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 403") << answer;
    EXPECT_EQ(answer.find('\x9b'), std::string::npos) << answer;
    EXPECT_EQ(server.connections(), 0);
    auto records = p.records(1);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].rule, "Host header mismatch");
    EXPECT_NE(records[0].error.find("evil?31m.test"), std::string::npos) << records[0].error;
    for (char ch : records[0].error) EXPECT_LT(static_cast<unsigned char>(ch), 0x80) << records[0].error;
}

// "GET http://0/" with "Host: 0" was refused as a Host header mismatch naming the same "0" on
// both sides (red team, LOW): an invalid URL host is refused as such, as a CONNECT to it is.
TEST(ProxySmuggling, AnInvalidUrlHostIsRefusedAsInvalidNotAsAMismatch) {
    TestProxy p("allow=allowed.test");
    RawClient c = RawClient::tcp(p.port);
    c.send_all("GET http://0/ HTTP/1.1\r\nHost: 0\r\n\r\n");
    const std::string answer = c.read_all();
    EXPECT_EQ(answer.substr(0, 26), "HTTP/1.1 400 Bad Request\r\n") << answer;
    EXPECT_NE(answer.find("not a valid host name or IP address"), std::string::npos) << answer;
    EXPECT_EQ(answer.find("another host"), std::string::npos) << answer;
    auto records = p.records(1);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].allowed, false);
}

TEST(ProxyAddresses, AnswersPointingInsideAreRefusedWithoutTheTestSetting) {
    RecordingServer server("x", false);
    TestProxy p("allow=*.test", /*permit_loopback=*/false);
    const uint16_t port = server.port();
    EXPECT_EQ(connect_status(p, "loopback.test", port), "HTTP/1.1 403 Forbidden");
    EXPECT_EQ(connect_status(p, "metadata.test", port), "HTTP/1.1 403 Forbidden");
    EXPECT_EQ(connect_status(p, "private.test", port), "HTTP/1.1 403 Forbidden");
    EXPECT_EQ(connect_status(p, "mapped.test", port), "HTTP/1.1 403 Forbidden");
    EXPECT_EQ(server.connections(), 0);
    auto records = p.records(4);
    ASSERT_EQ(records.size(), 4u);
    EXPECT_EQ(records[0].rule, "address 127.0.0.1 is loopback (127.0.0.0/8)");
    EXPECT_EQ(records[1].rule, "address 169.254.169.254 is link-local (cloud metadata endpoints) (169.254.0.0/16)");
    EXPECT_EQ(records[2].rule, "address 10.0.0.1 is private (10.0.0.0/8)");
    EXPECT_NE(records[3].rule.find("10.0.0.1 is private"), std::string::npos) << records[3].rule;
    for (const auto& r : records) {
        EXPECT_EQ(r.allowed, false);
        EXPECT_EQ(r.address, "");  // nothing was connected to
    }
}

TEST(ProxyAddresses, TheTestSettingLiftsLoopbackOnly) {
    RecordingServer server("x", false);
    TestProxy p("allow=*.test", /*permit_loopback=*/true);
    const uint16_t port = server.port();
    EXPECT_EQ(connect_status(p, "loopback.test", port), "HTTP/1.1 200 Connection established");
    EXPECT_EQ(connect_status(p, "metadata.test", port), "HTTP/1.1 403 Forbidden");
    EXPECT_EQ(connect_status(p, "private.test", port), "HTTP/1.1 403 Forbidden");
    // Of a mixed answer, only the address that passes is connected to.
    EXPECT_EQ(connect_status(p, "mixed.test", port), "HTTP/1.1 200 Connection established");
    auto records = p.records(4);
    ASSERT_EQ(records.size(), 4u);
    EXPECT_EQ(records[3].address, "127.0.0.1:" + std::to_string(port));
}

TEST(ProxyAddresses, AnExplicitRangeAdmitsItsAddresses) {
    RecordingServer server("x", false);
    TestProxy p("allow=loopback.test,127.0.0.0/8", /*permit_loopback=*/false);
    EXPECT_EQ(connect_status(p, "loopback.test", server.port()), "HTTP/1.1 200 Connection established");
    TestProxy full("full", false);
    EXPECT_EQ(connect_status(full, "loopback.test", server.port()), "HTTP/1.1 403 Forbidden");
    auto records = p.records(1);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].rule, "allow entry loopback.test; allow entry 127.0.0.0/8");
}

}  // namespace
}  // namespace proxytest
