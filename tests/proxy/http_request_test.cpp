// The proxy's request head parser: the forms it accepts, what it refuses and with which status,
// and the head it forwards.
#include <gtest/gtest.h>

#include "proxy/http_request.hpp"

namespace microvm::proxy {
namespace {

constexpr size_t kMax = 16 * 1024;

HttpRequest parsed(std::string_view input) {
    HttpParse p = parse_http_request(input, kMax);
    EXPECT_EQ(p.state, HttpParse::State::Done) << input << " -> " << p.message;
    return p.request;
}

HttpParse failed(std::string_view input, int status) {
    HttpParse p = parse_http_request(input, kMax);
    EXPECT_EQ(p.state, HttpParse::State::Failed) << input;
    EXPECT_EQ(p.status, status) << input << " -> " << p.message;
    EXPECT_FALSE(p.message.empty());
    return p;
}

TEST(HttpRequestParse, Connect) {
    HttpRequest r = parsed("CONNECT Example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\nrest");
    EXPECT_EQ(r.form, HttpRequest::Form::Connect);
    EXPECT_EQ(r.method, "CONNECT");
    EXPECT_EQ(r.host, "Example.com");
    EXPECT_EQ(r.port, 443);
    EXPECT_EQ(r.url, "Example.com:443");
    EXPECT_EQ(r.head_bytes, std::string("CONNECT Example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n").size());
    HttpRequest v6 = parsed("CONNECT [::1]:8443 HTTP/1.0\r\n\r\n");
    EXPECT_EQ(v6.host, "::1");
    EXPECT_EQ(v6.port, 8443);
    EXPECT_EQ(v6.version, "HTTP/1.0");
}

TEST(HttpRequestParse, AbsoluteForm) {
    HttpRequest r = parsed(
        "POST http://allowed.test:8080/a/b?c=d HTTP/1.1\r\nHost: allowed.test:8080\r\n"
        "Content-Length: 5\r\nX-Thing:  value with  spaces \t\r\n\r\nhello");
    EXPECT_EQ(r.form, HttpRequest::Form::Absolute);
    EXPECT_EQ(r.host, "allowed.test");
    EXPECT_EQ(r.port, 8080);
    EXPECT_EQ(r.path, "/a/b?c=d");
    EXPECT_EQ(r.content_length, 5u);
    EXPECT_EQ(r.header("x-thing"), "value with  spaces");
    EXPECT_EQ(parsed("GET http://a.test HTTP/1.1\r\n\r\n").path, "/");
    EXPECT_EQ(parsed("GET http://a.test HTTP/1.1\r\n\r\n").port, 80);
    EXPECT_EQ(parsed("GET HTTP://a.test?x HTTP/1.1\r\n\r\n").path, "/?x");
    EXPECT_EQ(parsed("GET http://[::1]:81/ HTTP/1.1\r\n\r\n").host, "::1");
}

TEST(HttpRequestParse, IncompleteUntilTheBlankLine) {
    for (std::string_view prefix : {"", "C", "CONNECT a.test:443 HTTP/1.1", "CONNECT a.test:443 HTTP/1.1\r",
                                    "CONNECT a.test:443 HTTP/1.1\r\nHost: x\r\n"}) {
        EXPECT_EQ(parse_http_request(prefix, kMax).state, HttpParse::State::Incomplete) << prefix;
    }
}

TEST(HttpRequestParse, GarbageFailsWithoutWaitingForALine) {
    failed("\x16\x03\x01\x02\x00\x01", 400);  // a TLS handshake sent to the proxy itself
    failed(std::string("GET\0", 4), 400);
    failed("CONNECT a.test:443 HTTP/1.1\nHost: x", 400);  // bare LF
    failed("CONNECT a.test:443 HTTP/1.1\rX", 400);        // bare CR
    failed(" CONNECT", 400);
}

TEST(HttpRequestParse, MalformedRequestLines) {
    failed("garbage\r\n\r\n", 400);
    failed("CONNECT\r\n\r\n", 400);
    failed("CONNECT a.test HTTP/1.1\r\n\r\n", 400);          // no port
    failed("CONNECT a.test:0 HTTP/1.1\r\n\r\n", 400);
    failed("CONNECT a.test:65536 HTTP/1.1\r\n\r\n", 400);
    failed("CONNECT a.test:44x HTTP/1.1\r\n\r\n", 400);
    failed("CONNECT a.test:443  HTTP/1.1\r\n\r\n", 400);     // two spaces
    failed("CONNECT a%2etest:443 HTTP/1.1\r\n\r\n", 400);
    failed("CONNECT a.test\\b:443 HTTP/1.1\r\n\r\n", 400);
    failed("CONNECT [::1:443 HTTP/1.1\r\n\r\n", 400);
    failed("CONNECT [fe80::1%25eth0]:443 HTTP/1.1\r\n\r\n", 400);
    failed("CONNECT a.test:443 HTTP/2.0\r\n\r\n", 505);
    failed("CONNECT a.test:443 FTP/1.0\r\n\r\n", 400);
    failed("G(T http://a.test/ HTTP/1.1\r\n\r\n", 400);
    failed("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n", 400);  // origin form: not a proxy request
    failed("OPTIONS * HTTP/1.1\r\n\r\n", 400);
    failed("GET https://a.test/ HTTP/1.1\r\n\r\n", 501);
    failed("GET ftp://a.test/ HTTP/1.1\r\n\r\n", 400);
    failed("GET http://user:pw@a.test/ HTTP/1.1\r\n\r\n", 400);
    failed("GET http://a.test/#frag HTTP/1.1\r\n\r\n", 400);
    failed("GET http://:80/ HTTP/1.1\r\n\r\n", 400);
}

TEST(HttpRequestParse, MalformedHeaders) {
    failed("GET http://a.test/ HTTP/1.1\r\nHost : a.test\r\n\r\n", 400);
    failed("GET http://a.test/ HTTP/1.1\r\nNoColon\r\n\r\n", 400);
    failed("GET http://a.test/ HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 400);  // obsolete folding
    failed("GET http://a.test/ HTTP/1.1\r\nX: a\x01\r\n\r\n", 400);
    failed("GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nHost: a.test\r\n\r\n", 400);
    failed("GET http://a.test/ HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400);
    failed("GET http://a.test/ HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400);
    failed("GET http://a.test/ HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", 400);
    failed("POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 411);
    EXPECT_EQ(parsed("GET http://a.test/ HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n").content_length, 5u);
}

TEST(HttpRequestParse, ConnectionMayNotNameWhatTheProxyActsOn) {
    // Dropped as hop-by-hop, Content-Length would leave the body to the server as a second,
    // unjudged request; Transfer-Encoding and Host likewise carry framing and the target's name.
    failed("POST http://a.test/ HTTP/1.1\r\nConnection: Content-Length\r\nContent-Length: 5\r\n\r\n", 400);
    failed("POST http://a.test/ HTTP/1.1\r\nContent-Length: 5\r\nConnection: keep-alive, content-length\r\n\r\n",
           400);
    failed("GET http://a.test/ HTTP/1.1\r\nConnection: Transfer-Encoding\r\n\r\n", 400);
    HttpParse host = failed("GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nConnection: close,HOST\r\n\r\n", 400);
    EXPECT_NE(host.message.find("Connection header names HOST"), std::string::npos) << host.message;
    // Other names stay hop-by-hop, and a CONNECT head is never forwarded.
    EXPECT_EQ(parsed("GET http://a.test/ HTTP/1.1\r\nConnection: keep-alive, X-Secret\r\n\r\n").headers.size(), 1u);
    parsed("CONNECT a.test:443 HTTP/1.1\r\nConnection: Host\r\n\r\n");
}

TEST(HttpRequestParse, SizeLimits) {
    const std::string big_header = "X-Big: " + std::string(kMax, 'a') + "\r\n";
    failed("CONNECT a.test:443 HTTP/1.1\r\n" + big_header + "\r\n", 431);
    // Without the blank line yet: refused as soon as the limit is reached, not later.
    failed("CONNECT a.test:443 HTTP/1.1\r\n" + big_header.substr(0, kMax), 431);
    std::string many = "CONNECT a.test:443 HTTP/1.1\r\n";
    for (int i = 0; i < 101; ++i) many += "X-" + std::to_string(i) + ": y\r\n";
    failed(many + "\r\n", 431);
    // Exactly at the limit passes.
    std::string head = "CONNECT a.test:443 HTTP/1.1\r\nX: ";
    head += std::string(kMax - head.size() - 4, 'b') + "\r\n\r\n";
    ASSERT_EQ(head.size(), kMax);
    EXPECT_EQ(parse_http_request(head, kMax).state, HttpParse::State::Done);
    failed(head.substr(0, kMax - 4) + "bbbb\r\n\r\n", 431);
}

TEST(HttpRequestHost, HeaderMustNameTheUrlsHost) {
    auto mismatch = [](std::string_view head) { return host_header_mismatch(parsed(head)); };
    EXPECT_EQ(mismatch("GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n"), std::nullopt);
    EXPECT_EQ(mismatch("GET http://a.test/ HTTP/1.1\r\nHost: A.TEST.:80\r\n\r\n"), std::nullopt);
    EXPECT_EQ(mismatch("GET http://a.test:8080/ HTTP/1.1\r\nHost: a.test:8080\r\n\r\n"), std::nullopt);
    EXPECT_EQ(mismatch("GET http://[::1]/ HTTP/1.1\r\nHost: [0::1]\r\n\r\n"), std::nullopt);
    EXPECT_EQ(mismatch("GET http://a.test/ HTTP/1.0\r\n\r\n"), std::nullopt);  // no Host: added
    EXPECT_NE(mismatch("GET http://a.test/ HTTP/1.1\r\nHost: b.test\r\n\r\n"), std::nullopt);
    EXPECT_NE(mismatch("GET http://a.test/ HTTP/1.1\r\nHost: a.test:81\r\n\r\n"), std::nullopt);
    EXPECT_NE(mismatch("GET http://a.test:8080/ HTTP/1.1\r\nHost: a.test\r\n\r\n"), std::nullopt);
    EXPECT_NE(mismatch("GET http://a.test/ HTTP/1.1\r\nHost: a.test@b.test\r\n\r\n"), std::nullopt);
    EXPECT_NE(mismatch("GET http://a.test/ HTTP/1.1\r\nHost: \r\n\r\n"), std::nullopt);
    // An invalid host is called invalid, not "another host" (it said so of "0" against "0").
    auto zero = mismatch("GET http://0/ HTTP/1.1\r\nHost: 0\r\n\r\n");
    ASSERT_NE(zero, std::nullopt);
    EXPECT_NE(zero->find("the URL's host '0' is not a valid host name or IP address"), std::string::npos) << *zero;
    auto header = mismatch("GET http://a.test/ HTTP/1.1\r\nHost: 0\r\n\r\n");
    ASSERT_NE(header, std::nullopt);
    EXPECT_NE(header->find("Host header '0' is not a valid host name or IP address"), std::string::npos) << *header;
}

TEST(HttpRequestForward, OriginFormWithoutHopByHopHeaders) {
    HttpRequest r = parsed(
        "GET http://a.test:8080/x?y HTTP/1.1\r\nHost: a.test:8080\r\nProxy-Connection: keep-alive\r\n"
        "Proxy-Authorization: Basic Zm9v\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s\r\n"
        "Keep-Alive: 5\r\nTE: trailers\r\nUpgrade: websocket\r\nAccept: */*\r\n\r\n");
    EXPECT_EQ(origin_form_head(r, "a.test"),
              "GET /x?y HTTP/1.1\r\nHost: a.test:8080\r\nAccept: */*\r\nConnection: close\r\n\r\n");
    HttpRequest no_host = parsed("GET http://[::1]:81/ HTTP/1.0\r\n\r\n");
    EXPECT_EQ(origin_form_head(no_host, "::1"), "GET / HTTP/1.0\r\nHost: [::1]:81\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(origin_form_head(parsed("GET http://a.test/ HTTP/1.0\r\n\r\n"), "a.test"),
              "GET / HTTP/1.0\r\nHost: a.test\r\nConnection: close\r\n\r\n");
    // The server is told the name judged, not the client's spelling of it (red team, 2026-12-06).
    EXPECT_EQ(origin_form_head(parsed("GET http://A.Test.:8080/ HTTP/1.1\r\nHost: A.TEST.:8080\r\n\r\n"), "a.test"),
              "GET / HTTP/1.1\r\nHost: a.test:8080\r\nConnection: close\r\n\r\n");
}

TEST(HttpRefusal, CompleteResponseWithoutControlCharacters) {
    const std::string r = http_refusal(403, "refused CONNECT x:1: bad\r\nInjected: yes");
    EXPECT_EQ(r.rfind("HTTP/1.1 403 Forbidden\r\n", 0), 0u) << r;
    const size_t body = r.find("\r\n\r\n") + 4;
    EXPECT_EQ(r.substr(body), "microvm proxy: refused CONNECT x:1: bad  Injected: yes\n");
    EXPECT_NE(r.find("Content-Length: " + std::to_string(r.size() - body) + "\r\n"), std::string::npos);
    EXPECT_NE(r.find("Connection: close\r\n"), std::string::npos);
    // Made by the proxy, and said so (RFC 9209), with the reason as a structured string.
    EXPECT_NE(r.find("\r\nProxy-Status: microvm-egress; error=http_request_denied; details=\"refused "
                     "CONNECT x:1: bad??Injected: yes\"\r\n"),
              std::string::npos)
        << r;
}

TEST(HttpRefusal, TheProxyStatusNamesAnErrorTypeAndEscapesTheReason) {
    auto status_line = [](int status, std::string_view reason) {
        const std::string r = http_refusal(status, reason);
        const size_t at = r.find("Proxy-Status: ");
        return r.substr(at, r.find("\r\n", at) - at);
    };
    EXPECT_EQ(status_line(400, R"(bad "target" \x)"),
              R"(Proxy-Status: microvm-egress; error=http_request_error; details="bad \"target\" \\x")");
    EXPECT_EQ(status_line(429, "limit"), "Proxy-Status: microvm-egress; error=connection_limit_reached; details=\"limit\"");
    EXPECT_EQ(status_line(502, "x"), "Proxy-Status: microvm-egress; error=destination_unavailable; details=\"x\"");
    EXPECT_EQ(status_line(504, "\xc3\xa9"), "Proxy-Status: microvm-egress; error=connection_timeout; details=\"??\"");
}

}  // namespace
}  // namespace microvm::proxy
