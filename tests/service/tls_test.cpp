// TLS on a TCP listener (OpenSSL, a throwaway self-signed certificate): the API answers over
// TLS, the token is still required, and plain HTTP on the TLS port gets nothing.
#include <gtest/gtest.h>

#include <cstdlib>

#include "harness.hpp"

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
