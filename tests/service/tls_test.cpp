// TLS on a TCP listener (OpenSSL, a throwaway self-signed certificate): the API answers over
// TLS, the token is still required, and plain HTTP on the TLS port gets nothing.
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <poll.h>

#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "harness.hpp"
#include "host/unique_fd.hpp"

using namespace svctest;
using namespace microvm::service;

TEST(Tls, ServesTheApiOverTlsWithTheTokenRequired) {
    TlsFrontend tls;
    ASSERT_TRUE(tls.ready);
    HttpFrontend& frontend = *tls.frontend;
    const std::string &dir = tls.dir, &cert = tls.cert, &key = tls.key;
    // TLS without a token set, or on a Unix socket, is refused up front.
    EXPECT_FALSE(frontend.add_listener(*parse_listen("tcp:127.0.0.1:0"), std::nullopt, TlsFiles{cert, key}));
    EXPECT_FALSE(frontend.add_listener(*parse_listen("unix:" + dir + "/x.sock"), std::nullopt, TlsFiles{cert, key}));
    auto bad = frontend.add_listener(*parse_listen("tcp:127.0.0.1:0"), TokenSet::of({{"t", kToken}}), TlsFiles{cert, dir + "/missing.pem"});
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("TLS key"), std::string::npos);
    // A key others may read is refused, as a token file is (it was loaded whatever its mode).
    const std::string shared_key = dir + "/shared-key.pem";
    std::filesystem::copy_file(key, shared_key);
    ASSERT_EQ(::chmod(shared_key.c_str(), 0644), 0);
    auto readable = frontend.add_listener(*parse_listen("tcp:127.0.0.1:0"), TokenSet::of({{"t", kToken}}),
                                          TlsFiles{cert, shared_key});
    ASSERT_FALSE(readable) << "a TLS key readable by others was loaded";
    EXPECT_NE(readable.error().message.find("chmod 600"), std::string::npos) << readable.error().message;
    const int port = frontend.port(0);
    frontend.start();

    httplib::SSLClient client("127.0.0.1", port);
    client.enable_server_certificate_verification(false);
    client.set_connection_timeout(10);
    auto unauth = client.Get("/v1/providers");
    ASSERT_TRUE(unauth) << httplib::to_string(unauth.error());
    EXPECT_EQ(unauth->status, 401);
    auto r = client.Post("/v1/executions", {{"Authorization", "Bearer " + kToken}},
                         R"J({"provider":"mock","eval":"(+ 20 22)"})J", "application/json");
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(nlohmann::json::parse(r->body)["value"], "42");
    // Plain HTTP to the TLS port: no HTTP answer.
    auto plain = call_fd(connect_tcp(port), "GET", "/healthz", "", {}, std::chrono::seconds(15));
    EXPECT_EQ(plain.status, 0);
}

namespace {

using SslCtxPtr = std::unique_ptr<SSL_CTX, void (*)(SSL_CTX*)>;
using SslPtr = std::unique_ptr<SSL, void (*)(SSL*)>;

// Sends `bytes` one at a time, 300 ms apart, until the server closes the connection (true) or
// `limit` passes (false). Whatever the server sends meanwhile (TLS session tickets) is dropped.
bool trickle_until_closed(int fd, const std::string& bytes, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    size_t i = 0;
    while (std::chrono::steady_clock::now() < end) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 300) > 0) {
            char buf[4096];
            const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return true;
            continue;
        }
        if (i < bytes.size() && ::send(fd, &bytes[i++], 1, MSG_NOSIGNAL) < 0) return true;
    }
    return false;
}

std::string drain(BIO* mem) {
    char* data = nullptr;
    const long len = BIO_get_mem_data(mem, &data);
    return std::string(data, static_cast<size_t>(len));
}

}  // namespace

// A client that trickles its TLS records a byte at a time (each byte inside a per-recv timeout)
// held the connection's thread for as long as it liked; 256 of them locked every client out.
// The handshake and each request's records now share one deadline: the request timeout.
TEST(Tls, ATrickledHandshakeOrRequestIsCutAtTheRequestTimeout) {
    microvm::service::FrontendOptions fo;
    fo.request_timeout = std::chrono::milliseconds(1000);
    TlsFrontend tls(fo);
    ASSERT_TRUE(tls.ready);
    tls.frontend->start();
    const auto limit = 5 * fo.request_timeout;  // liveness, not timing: the old code never cut them
    SslCtxPtr cctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
    ASSERT_TRUE(cctx);

    {  // The ClientHello, produced in memory and sent a byte per 300 ms.
        SslPtr s(SSL_new(cctx.get()), SSL_free);
        BIO* out = BIO_new(BIO_s_mem());
        SSL_set_bio(s.get(), BIO_new(BIO_s_mem()), out);
        ASSERT_EQ(SSL_connect(s.get()), -1);  // wants the server's answer
        const std::string hello = drain(out);
        ASSERT_GT(hello.size(), 100u);
        microvm::host::UniqueFd fd(connect_tcp(tls.port()));
        ASSERT_GE(fd.get(), 0);
        EXPECT_TRUE(trickle_until_closed(fd.get(), hello, limit)) << "a trickled handshake was not cut";
    }
    for (const bool silent : {true, false}) {  // a finished handshake, then nothing or a trickled request
        microvm::host::UniqueFd fd(connect_tcp(tls.port()));
        ASSERT_GE(fd.get(), 0);
        SslPtr s(SSL_new(cctx.get()), SSL_free);
        SSL_set_fd(s.get(), fd.get());
        ASSERT_EQ(SSL_connect(s.get()), 1);
        std::string record;
        if (!silent) {
            BIO* out = BIO_new(BIO_s_mem());
            SSL_set0_wbio(s.get(), out);  // the request's record, to send by hand
            const std::string req = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
            ASSERT_EQ(SSL_write(s.get(), req.data(), static_cast<int>(req.size())), static_cast<int>(req.size()));
            record = drain(out);
            ASSERT_GT(record.size(), req.size());
        }
        EXPECT_TRUE(trickle_until_closed(fd.get(), record, limit)) << "silent=" << silent;
    }
    // A normal client is still served.
    httplib::SSLClient client("127.0.0.1", tls.port());
    client.enable_server_certificate_verification(false);
    client.set_connection_timeout(10);
    auto r = client.Get("/healthz");
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    EXPECT_EQ(r->status, 200);
}

// A connection refused over a cap is answered in TLS on a TLS listener: the refusal was written in
// plain text, which the client read as a broken handshake (WRONG_VERSION_NUMBER) and did not
// retry (red team, 2026-12-06). Here the peer's only place serves an execution (authenticated,
// in progress); the newcomer reads 429 too_many_connections with Retry-After.
TEST(Tls, ARefusalOverTheCapIsAnsweredInTls) {
    microvm::service::FrontendOptions fo;
    fo.max_connections_per_peer = 1;
    TlsFrontend tls(fo);
    ASSERT_TRUE(tls.ready);
    tls.frontend->start();
    std::thread busy([&] {
        httplib::SSLClient client("127.0.0.1", tls.port());
        client.enable_server_certificate_verification(false);
        client.set_read_timeout(10);
        (void)client.Post("/v1/executions", {{"Authorization", "Bearer " + kToken}},
                          R"J({"provider":"mock","timeout":"4s","eval":"(loop [] (recur))"})J", "application/json");
    });
    // Its request is under way (authenticated in a few ms; a loaded machine gets 1.5 s).
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    httplib::SSLClient client("127.0.0.1", tls.port());
    client.enable_server_certificate_verification(false);
    client.set_connection_timeout(10);
    auto r = client.Get("/v1/providers", {{"Authorization", "Bearer " + kToken}});
    busy.join();
    ASSERT_TRUE(r) << httplib::to_string(r.error()) << ": the refusal did not come in TLS";
    EXPECT_EQ(r->status, 429);
    EXPECT_EQ(r->get_header_value("Retry-After"), "1");
    EXPECT_EQ(nlohmann::json::parse(r->body)["error"]["code"], "too_many_connections") << r->body;
}
