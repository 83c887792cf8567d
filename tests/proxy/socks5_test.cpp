// The SOCKS5 parser: greeting, CONNECT with each address type, refusals with their reply codes.
#include <gtest/gtest.h>

#include "proxy/socks5.hpp"

namespace microvm::proxy::socks5 {
namespace {

std::string bytes(std::initializer_list<int> b) {
    std::string out;
    for (int c : b) out += static_cast<char>(c);
    return out;
}

TEST(Socks5Greeting, NoAuthenticationOffered) {
    Greeting g = parse_greeting(bytes({5, 2, 2, 0, 0x77}));
    EXPECT_EQ(g.state, Greeting::State::Done);
    EXPECT_EQ(g.consumed, 4u);
    EXPECT_TRUE(g.no_auth_offered);
    Greeting password_only = parse_greeting(bytes({5, 1, 2}));
    EXPECT_EQ(password_only.state, Greeting::State::Done);
    EXPECT_FALSE(password_only.no_auth_offered);
}

TEST(Socks5Greeting, IncompleteAndMalformed) {
    EXPECT_EQ(parse_greeting("").state, Greeting::State::Incomplete);
    EXPECT_EQ(parse_greeting(bytes({5})).state, Greeting::State::Incomplete);
    EXPECT_EQ(parse_greeting(bytes({5, 3, 0})).state, Greeting::State::Incomplete);
    EXPECT_EQ(parse_greeting(bytes({4, 1, 0})).state, Greeting::State::Failed);
    EXPECT_EQ(parse_greeting(bytes({5, 0})).state, Greeting::State::Failed);
}

TEST(Socks5Request, DomainName) {
    std::string req = bytes({5, 1, 0, 3, 12}) + "allowed.test" + bytes({0x01, 0xbb}) + "tail";
    Request r = parse_request(req);
    ASSERT_EQ(r.state, Request::State::Done) << r.message;
    EXPECT_EQ(r.host, "allowed.test");
    EXPECT_TRUE(r.host_is_name);
    EXPECT_EQ(r.port, 443);
    EXPECT_EQ(r.consumed, req.size() - 4);
    for (size_t n = 0; n + 4 < req.size(); ++n) {
        EXPECT_EQ(parse_request(req.substr(0, n)).state, Request::State::Incomplete) << n;
    }
}

TEST(Socks5Request, Addresses) {
    Request v4 = parse_request(bytes({5, 1, 0, 1, 127, 0, 0, 1, 0, 80}));
    ASSERT_EQ(v4.state, Request::State::Done);
    EXPECT_EQ(v4.host, "127.0.0.1");
    EXPECT_FALSE(v4.host_is_name);
    EXPECT_EQ(v4.port, 80);
    Request v6 = parse_request(bytes({5, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0}));
    ASSERT_EQ(v6.state, Request::State::Done);
    EXPECT_EQ(v6.host, "::1");
    EXPECT_EQ(v6.port, 256);
}

TEST(Socks5Request, RefusalsCarryTheirReplyCode) {
    auto failed = [](const std::string& input, Reply reply) {
        Request r = parse_request(input);
        EXPECT_EQ(r.state, Request::State::Failed);
        EXPECT_EQ(r.reply, reply) << r.message;
        EXPECT_FALSE(r.message.empty());
    };
    failed(bytes({5, 2, 0, 1, 1, 2, 3, 4, 0, 80}), Reply::CommandNotSupported);  // BIND
    failed(bytes({5, 3, 0, 1, 1, 2, 3, 4, 0, 80}), Reply::CommandNotSupported);  // UDP ASSOCIATE
    failed(bytes({5, 9, 0, 1, 1, 2, 3, 4, 0, 80}), Reply::CommandNotSupported);
    failed(bytes({5, 1, 0, 9}), Reply::AddressTypeNotSupported);
    failed(bytes({5, 1, 1, 1, 1, 2, 3, 4, 0, 80}), Reply::GeneralFailure);  // reserved byte
    failed(bytes({4, 1, 0, 1}), Reply::GeneralFailure);
    failed(bytes({5, 1, 0, 3, 0, 0, 80}), Reply::GeneralFailure);           // empty name
    failed(bytes({5, 1, 0, 3, 3}) + std::string("a\0b", 3) + bytes({0, 80}), Reply::GeneralFailure);
    failed(bytes({5, 1, 0, 1, 1, 2, 3, 4, 0, 0}), Reply::GeneralFailure);   // port 0
    // A whole request refused keeps its target, for the record.
    Request udp = parse_request(bytes({5, 3, 0, 1, 1, 2, 3, 4, 0, 80}));
    EXPECT_EQ(udp.host, "1.2.3.4");
    EXPECT_EQ(udp.port, 80);
}

TEST(Socks5Replies, Shapes) {
    EXPECT_EQ(method_reply(true), bytes({5, 0}));
    EXPECT_EQ(method_reply(false), bytes({5, 0xff}));
    EXPECT_EQ(reply(Reply::NotAllowed), bytes({5, 2, 0, 1, 0, 0, 0, 0, 0, 0}));
}

}  // namespace
}  // namespace microvm::proxy::socks5
