// NetworkPolicy: the --net forms, canonical entries, round trips and host matching.
#include <gtest/gtest.h>

#include "microvm/policy.hpp"

namespace microvm {
namespace {

NetworkPolicy parse_ok(std::string_view text) {
    auto p = NetworkPolicy::parse(text);
    EXPECT_TRUE(p.has_value()) << text << ": " << (p ? "" : p.error().message);
    return p ? *p : NetworkPolicy{};
}

std::string parse_error(std::string_view text) {
    auto p = NetworkPolicy::parse(text);
    EXPECT_FALSE(p.has_value()) << text << " parsed as " << (p ? p->to_string() : "");
    if (p) return {};
    EXPECT_EQ(p.error().kind, Failure::Kind::InvalidConfig);
    return p.error().message;
}

TEST(NetworkPolicyParse, SimpleForms) {
    EXPECT_EQ(parse_ok("deny"), NetworkPolicy::denied());
    EXPECT_EQ(parse_ok("denied"), NetworkPolicy::denied());
    EXPECT_EQ(parse_ok("full"), NetworkPolicy::full());
    EXPECT_EQ(parse_ok("allow=a.com,b.com"), NetworkPolicy::allow({"a.com", "b.com"}));
    EXPECT_EQ(parse_ok("block=h1,h2"), NetworkPolicy::deny({"h1", "h2"}));
}

TEST(NetworkPolicyParse, HostForms) {
    EXPECT_EQ(parse_ok("allow=API.GitHub.com").hosts, std::vector<std::string>{"api.github.com"});
    EXPECT_EQ(parse_ok("allow=10.0.0.1").hosts, std::vector<std::string>{"10.0.0.1"});
    EXPECT_EQ(parse_ok("allow=10.0.0.1:8080").hosts, std::vector<std::string>{"10.0.0.1:8080"});
    EXPECT_EQ(parse_ok("allow=[::1]").hosts, std::vector<std::string>{"[::1]"});
    EXPECT_EQ(parse_ok("allow=[0:0::1]:443").hosts, std::vector<std::string>{"[::1]:443"});
    EXPECT_EQ(parse_ok("allow=::1").hosts, std::vector<std::string>{"[::1]"});
    EXPECT_EQ(parse_ok("allow=example.com:443").hosts, std::vector<std::string>{"example.com:443"});
    EXPECT_EQ(parse_ok("allow=*.example.com").hosts, std::vector<std::string>{"*.example.com"});
    EXPECT_EQ(parse_ok("allow= a.com , b.com ").hosts,
              (std::vector<std::string>{"a.com", "b.com"}));
    EXPECT_EQ(parse_ok("allow=my_host-1.internal").hosts,
              std::vector<std::string>{"my_host-1.internal"});
}

TEST(NetworkPolicyParse, RejectsBadInputWithReasonAndForms) {
    EXPECT_NE(parse_error("").find("accepted forms"), std::string::npos);
    EXPECT_NE(parse_error("allow").find("missing"), std::string::npos);
    EXPECT_NE(parse_error("allow=").find("empty"), std::string::npos);
    EXPECT_NE(parse_error("block=").find("empty"), std::string::npos);
    EXPECT_NE(parse_error("allow=a.com,,b.com").find("empty entry"), std::string::npos);
    EXPECT_NE(parse_error("allow=a.com,").find("empty entry"), std::string::npos);
    EXPECT_NE(parse_error("allow=a.com:0").find("port"), std::string::npos);
    EXPECT_NE(parse_error("allow=a.com:65536").find("port"), std::string::npos);
    EXPECT_NE(parse_error("allow=a.com:http").find("port"), std::string::npos);
    EXPECT_NE(parse_error("allow=a.com:").find("port"), std::string::npos);
    EXPECT_NE(parse_error("allow=a.com:+80").find("port"), std::string::npos);
    EXPECT_NE(parse_error("allow=:80").find("host is empty"), std::string::npos);
    EXPECT_NE(parse_error("allow=a..com").find("host name"), std::string::npos);
    EXPECT_NE(parse_error("allow=-a.com").find("host name"), std::string::npos);
    EXPECT_NE(parse_error("allow=a b.com").find("host name"), std::string::npos);
    EXPECT_NE(parse_error("allow=a/b").find("host name"), std::string::npos);
    EXPECT_NE(parse_error("allow=999.1.1.1").find("IPv4"), std::string::npos);
    EXPECT_NE(parse_error("allow=*").find("full"), std::string::npos);
    EXPECT_NE(parse_error("allow=a.*.com").find("'*'"), std::string::npos);
    EXPECT_NE(parse_error("allow=*.1.2.3").find("IPv4"), std::string::npos);
    EXPECT_NE(parse_error("allow=[::1").find("]"), std::string::npos);
    EXPECT_NE(parse_error("allow=[nope]").find("IPv6"), std::string::npos);
    EXPECT_NE(parse_error("allow=[::1]x").find("after"), std::string::npos);
    EXPECT_NE(parse_error("allow=1:2:zz").find("IPv6"), std::string::npos);
    EXPECT_NE(parse_error("permit=a.com").find("unknown form"), std::string::npos);
    EXPECT_NE(parse_error("deny=a.com").find("unknown form"), std::string::npos);
    EXPECT_NE(parse_error("garbage").find("unknown form"), std::string::npos);
    EXPECT_NE(parse_error(std::string(300, 'a') + ".com").find("unknown form"), std::string::npos);
    EXPECT_NE(parse_error("allow=" + std::string(64, 'a') + ".com").find("host name"),
              std::string::npos);
}

TEST(NetworkPolicyParse, ErrorNamesTheInput) {
    std::string msg = parse_error("allow=a.com:99999");
    EXPECT_NE(msg.find("allow=a.com:99999"), std::string::npos) << msg;
    EXPECT_NE(msg.find("1-65535"), std::string::npos) << msg;
}

TEST(NetworkPolicyParse, RoundTripsThroughToString) {
    for (const char* text :
         {"deny", "full", "allow=a.com", "allow=a.com,b.com:443,*.c.org,10.1.2.3,[::1]:80",
          "block=h1,h2", "block=*.ads.example,[2001:db8::1]", "allow=::ffff:1.2.3.4"}) {
        NetworkPolicy p = parse_ok(text);
        EXPECT_EQ(parse_ok(p.to_string()), p) << text << " -> " << p.to_string();
    }
    EXPECT_EQ(NetworkPolicy::denied().to_string(), "deny");
    EXPECT_EQ(parse_ok("allow=A.com,B.com:443").to_string(), "allow=a.com,b.com:443");
}

TEST(NetworkPolicyPermits, DeniedAndFull) {
    EXPECT_FALSE(NetworkPolicy::denied().permits("example.com", 443));
    EXPECT_TRUE(NetworkPolicy::full().permits("example.com", 443));
}

TEST(NetworkPolicyPermits, AllowListIsCaseInsensitive) {
    NetworkPolicy p = parse_ok("allow=api.github.com");
    EXPECT_TRUE(p.permits("api.github.com"));
    EXPECT_TRUE(p.permits("API.GitHub.COM", 443));
    EXPECT_TRUE(p.permits("api.github.com.", 443));
    EXPECT_FALSE(p.permits("github.com"));
    EXPECT_FALSE(p.permits("evil-api.github.com"));
    EXPECT_FALSE(p.permits("api.github.com.evil.org"));
}

TEST(NetworkPolicyPermits, WildcardMatchesSubdomainsNotTheApex) {
    NetworkPolicy p = parse_ok("allow=*.example.com");
    EXPECT_TRUE(p.permits("a.example.com"));
    EXPECT_TRUE(p.permits("a.b.example.com"));
    EXPECT_FALSE(p.permits("example.com"));
    EXPECT_FALSE(p.permits("badexample.com"));
    EXPECT_FALSE(p.permits("example.com.org"));
}

TEST(NetworkPolicyPermits, PortSpecificEntries) {
    NetworkPolicy allow = parse_ok("allow=example.com:443");
    EXPECT_TRUE(allow.permits("example.com", 443));
    EXPECT_FALSE(allow.permits("example.com", 80));
    EXPECT_FALSE(allow.permits("example.com", 0));  // unknown port: not granted

    NetworkPolicy block = parse_ok("block=example.com:25");
    EXPECT_FALSE(block.permits("example.com", 25));
    EXPECT_TRUE(block.permits("example.com", 443));
    EXPECT_FALSE(block.permits("example.com", 0));  // unknown port: blocked
    EXPECT_TRUE(block.permits("other.com", 25));
}

TEST(NetworkPolicyPermits, IpAddresses) {
    NetworkPolicy p = parse_ok("allow=127.0.0.1,[::1]:8080");
    EXPECT_TRUE(p.permits("127.0.0.1", 9000));
    EXPECT_FALSE(p.permits("127.0.0.2", 9000));
    EXPECT_TRUE(p.permits("::1", 8080));
    EXPECT_TRUE(p.permits("[0::1]", 8080));
    EXPECT_FALSE(p.permits("::1", 8081));
}

TEST(NetworkPolicyPermits, DenyList) {
    NetworkPolicy p = parse_ok("block=*.ads.example,tracker.org");
    EXPECT_FALSE(p.permits("x.ads.example"));
    EXPECT_FALSE(p.permits("Tracker.org", 443));
    EXPECT_TRUE(p.permits("ads.example"));
    EXPECT_TRUE(p.permits("example.com"));
}

TEST(HostEntry, Canonical) {
    EXPECT_EQ(*parse_host_entry("Example.COM:8080"), "example.com:8080");
    EXPECT_FALSE(parse_host_entry("").has_value());
    EXPECT_FALSE(parse_host_entry("a,b").has_value());
}

}  // namespace
}  // namespace microvm
