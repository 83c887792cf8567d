// The ClientHello parser: the server name of well-formed hellos, split records, and every way a
// hello can be refused.
#include <gtest/gtest.h>

#include "proxy/tls_client_hello.hpp"
#include "proxy_support.hpp"

namespace microvm::proxy::tls {
namespace {

using proxytest::client_hello;
using proxytest::HelloOptions;
constexpr size_t kMax = 16 * 1024;

TEST(ClientHelloParse, ServerName) {
    ClientHello c = parse_client_hello(client_hello("allowed.test"), kMax);
    ASSERT_EQ(c.state, ClientHello::State::Done) << c.message;
    EXPECT_EQ(c.server_name, "allowed.test");
    ClientHello none = parse_client_hello(client_hello(HelloOptions{}), kMax);
    ASSERT_EQ(none.state, ClientHello::State::Done) << none.message;
    EXPECT_EQ(none.server_name, std::nullopt);
}

TEST(ClientHelloParse, EveryPrefixIsIncomplete) {
    const std::string hello = client_hello("allowed.test");
    for (size_t n = 1; n < hello.size(); ++n) {
        EXPECT_EQ(parse_client_hello(hello.substr(0, n), kMax).state, ClientHello::State::Incomplete) << n;
    }
    // Bytes after the hello (the client's next records) do not matter.
    EXPECT_EQ(parse_client_hello(hello + "\x17\x03\x03", kMax).state, ClientHello::State::Done);
}

TEST(ClientHelloParse, SplitAcrossRecords) {
    for (size_t at : {1u, 3u, 4u, 40u, 100u}) {
        const std::string hello = client_hello(HelloOptions{{"allowed.test"}, false, at});
        ClientHello c = parse_client_hello(hello, kMax);
        ASSERT_EQ(c.state, ClientHello::State::Done) << at << ": " << c.message;
        EXPECT_EQ(c.server_name, "allowed.test");
        EXPECT_EQ(parse_client_hello(hello.substr(0, hello.size() - 1), kMax).state,
                  ClientHello::State::Incomplete);
    }
}

TEST(ClientHelloParse, NotTlsIsToldFromTheFirstBytes) {
    for (std::string_view input : {"G", "GET / HTTP/1.1\r\n", "SSH-2.0-OpenSSH", "\x16\x02"}) {
        EXPECT_EQ(parse_client_hello(input, kMax).state, ClientHello::State::NotTls) << input;
    }
    EXPECT_EQ(parse_client_hello("", kMax).state, ClientHello::State::Incomplete);
    EXPECT_EQ(parse_client_hello("\x16", kMax).state, ClientHello::State::Incomplete);
}

TEST(ClientHelloParse, AmbiguousHellosAreMalformed) {
    auto malformed = [](const std::string& input, size_t max = kMax) {
        ClientHello c = parse_client_hello(input, max);
        EXPECT_EQ(c.state, ClientHello::State::Malformed) << c.message;
        EXPECT_FALSE(c.message.empty());
    };
    malformed(client_hello(HelloOptions{{"allowed.test"}, true}));               // duplicate SNI
    malformed(client_hello(HelloOptions{{"allowed.test", "other.test"}}));       // two names
    malformed(client_hello(HelloOptions{{""}}));                                 // empty name
    malformed(client_hello(HelloOptions{{std::string("a\0b", 3)}}));
    // Not ASCII host names, though IDNA maps them onto allowed.test (a soft hyphen, a fullwidth a):
    // the server would see bytes matching none of its names (red team, 2026-12-05).
    malformed(client_hello(HelloOptions{{"allo\xC2\xADwed.test"}}));
    malformed(client_hello(HelloOptions{{"\xEF\xBD\x81llowed.test"}}));
    malformed(client_hello(HelloOptions{{"allowed.test/"}}));
    malformed(client_hello(HelloOptions{{"allowed.test"}, false, 0, 20000}));  // over the limit
    malformed(client_hello("allowed.test"), 40);
    std::string wrong_message = client_hello("allowed.test");
    wrong_message[5] = 0x02;  // ServerHello
    malformed(wrong_message);
    std::string zero_record = std::string("\x16\x03\x01\x00\x00", 5);
    malformed(zero_record);
    std::string big_record = std::string("\x16\x03\x01\x40\x01", 5);  // 16385
    malformed(big_record);
    std::string other_type = client_hello(HelloOptions{{"allowed.test"}, false, 10});
    other_type[5 + 10] = 0x17;  // the second record is application data
    malformed(other_type);
    std::string trailing = client_hello("allowed.test");
    trailing[8] = static_cast<char>(trailing[8] + 1);  // handshake length one more...
    trailing[4] = static_cast<char>(trailing[4] + 1);  // ...and record length one more
    malformed(trailing + "x");
    // A second handshake message after the ClientHello in its record: no client sends one before
    // the server's answer, and the proxy would pass on bytes it never judged (red team, NOTE).
    std::string second = client_hello("allowed.test");
    const size_t length = (static_cast<unsigned char>(second[3]) << 8 |
                           static_cast<unsigned char>(second[4])) + 4;
    second[3] = static_cast<char>(length >> 8);
    second[4] = static_cast<char>(length & 0xff);
    malformed(second + std::string("\x14\x00\x00\x00", 4));  // an empty Finished
}

TEST(ClientHelloParse, TruncatedFieldsAreMalformedNotOverread) {
    const std::string hello = client_hello("allowed.test");
    // Shorten the handshake message (and the record) at every length: each claims less than
    // its fields need, or ends mid-field.
    for (size_t cut = 4; cut + 9 < hello.size(); ++cut) {
        std::string msg = hello.substr(5, cut);  // handshake header + part of the body
        const size_t body = cut - 4;
        msg[1] = static_cast<char>(body >> 16);
        msg[2] = static_cast<char>(body >> 8);
        msg[3] = static_cast<char>(body);
        std::string record = std::string("\x16\x03\x01", 3) + static_cast<char>(cut >> 8) + static_cast<char>(cut) + msg;
        ClientHello c = parse_client_hello(record, kMax);
        EXPECT_NE(c.state, ClientHello::State::Incomplete) << cut;
        if (c.state == ClientHello::State::Done) {
            EXPECT_EQ(c.server_name, std::nullopt) << cut;
        }
    }
}

TEST(TlsAlert, FatalAlertRecord) {
    EXPECT_EQ(alert(Alert::AccessDenied), std::string("\x15\x03\x01\x00\x02\x02\x31", 7));
}

}  // namespace
}  // namespace microvm::proxy::tls
