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
          "block=h1,h2", "block=*.ads.example,[2001:db8::1]", "allow=::ffff:1.2.3.4",
          "allow=10.0.0.0/8,10.0.0.0/8:5432,[fd00::]/8,[fd00::]/8:443,0.0.0.0/0,Bücher.example"}) {
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

std::string entry_ok(std::string_view text) {
    auto e = parse_host_entry(text);
    EXPECT_TRUE(e.has_value()) << text << ": " << (e ? "" : e.error().message);
    return e ? *e : std::string();
}

std::string entry_error(std::string_view text) {
    auto e = parse_host_entry(text);
    EXPECT_FALSE(e.has_value()) << text << " parsed as " << (e ? *e : "");
    return e ? std::string() : e.error().message;
}

TEST(HostEntry, TrailingDotIsDropped) {
    EXPECT_EQ(entry_ok("Example.COM."), "example.com");
    EXPECT_EQ(entry_ok("*.example.com.:443"), "*.example.com:443");
    EXPECT_EQ(entry_ok("1.2.3.4."), "1.2.3.4");
    EXPECT_NE(entry_error("example.com..").find("host name"), std::string::npos);
    EXPECT_NE(entry_error(".").find("host name"), std::string::npos);
}

TEST(HostEntry, InternationalNamesBecomeALabels) {
    EXPECT_EQ(entry_ok("Bücher.Example"), "xn--bcher-kva.example");
    EXPECT_EQ(entry_ok("*.BÜCHER.example:443"), "*.xn--bcher-kva.example:443");
    EXPECT_EQ(entry_ok("XN--BCHER-KVA.example"), "xn--bcher-kva.example");
    // Non-transitional processing: the sharp s stays (transitional would give "fass.de").
    EXPECT_EQ(entry_ok("faß.de"), "xn--fa-hia.de");
    EXPECT_NE(entry_error("b\xff" "cher.example").find("IDNA"), std::string::npos);
    EXPECT_NE(entry_error("b\xc3" "cher.example").find("IDNA"), std::string::npos);
    EXPECT_NE(entry_error("a\u2044b.example").find("IDNA"), std::string::npos);
}

TEST(HostEntry, NumericLastLabelIsNoName) {
    // Resolvers read these as IPv4 addresses; a policy cannot judge them as names.
    EXPECT_NE(entry_error("foo.123").find("host name"), std::string::npos);
    EXPECT_NE(entry_error("foo.0x7f").find("host name"), std::string::npos);
    EXPECT_NE(entry_error("0x7f000001").find("host name"), std::string::npos);
    EXPECT_NE(entry_error("127.1").find("IPv4"), std::string::npos);
    EXPECT_EQ(entry_ok("123.example"), "123.example");
    EXPECT_EQ(entry_ok("0xdead.example"), "0xdead.example");
}

TEST(HostEntry, CidrRanges) {
    EXPECT_EQ(entry_ok("10.0.0.0/8"), "10.0.0.0/8");
    EXPECT_EQ(entry_ok("10.0.0.0/8:5432"), "10.0.0.0/8:5432");
    EXPECT_EQ(entry_ok("192.168.1.7/32"), "192.168.1.7/32");
    EXPECT_EQ(entry_ok("0.0.0.0/0"), "0.0.0.0/0");
    EXPECT_EQ(entry_ok("fd00::/8"), "[fd00::]/8");
    EXPECT_EQ(entry_ok("[FD00:0::]/8"), "[fd00::]/8");
    EXPECT_EQ(entry_ok("[fd00::/8]:443"), "[fd00::]/8:443");
    EXPECT_EQ(entry_ok("[fd00::]/8:443"), "[fd00::]/8:443");
    EXPECT_EQ(entry_ok("[::ffff:10.0.0.0]/104"), "10.0.0.0/8");
    EXPECT_NE(entry_error("10.0.0.1/8").find("did you mean 10.0.0.0/8"), std::string::npos);
    EXPECT_NE(entry_error("fd00::1/8").find("did you mean fd00::/8"), std::string::npos);
    EXPECT_NE(entry_error("10.0.0.0/33").find("prefix"), std::string::npos);
    EXPECT_NE(entry_error("10.0.0.0/").find("prefix"), std::string::npos);
    EXPECT_NE(entry_error("10.0.0.0/x").find("prefix"), std::string::npos);
    EXPECT_NE(entry_error("10.0.0.0/-1").find("prefix"), std::string::npos);
    EXPECT_NE(entry_error("fd00::/129").find("prefix"), std::string::npos);
    EXPECT_NE(entry_error("example.com/8").find("IPv4"), std::string::npos);
    EXPECT_NE(entry_error("[::ffff:10.0.0.0]/8").find("96"), std::string::npos);
    EXPECT_NE(entry_error("[1.2.3.4]").find("IPv6"), std::string::npos);
}

TEST(CanonicalHost, NamesAndAddresses) {
    using K = CanonicalHost::Kind;
    EXPECT_EQ(*canonical_host("API.Example.com."), (CanonicalHost{K::Name, "api.example.com"}));
    EXPECT_EQ(*canonical_host("bücher.example"), (CanonicalHost{K::Name, "xn--bcher-kva.example"}));
    EXPECT_EQ(*canonical_host("10.0.0.1"), (CanonicalHost{K::IPv4, "10.0.0.1"}));
    EXPECT_EQ(*canonical_host("10.0.0.1."), (CanonicalHost{K::IPv4, "10.0.0.1"}));
    EXPECT_EQ(*canonical_host("[0::1]"), (CanonicalHost{K::IPv6, "::1"}));
    EXPECT_EQ(*canonical_host("::FFFF:127.0.0.1"), (CanonicalHost{K::IPv4, "127.0.0.1"}));
    for (const char* bad : {"", ".", "127.1", "2130706433", "0x7f000001", "0x7f.0.0.1", "010.0.0.1",
                            "a b.com", "a..com", "*.example.com", "[1.2.3.4]", "[::1", "host:80",
                            "a/b", "\xff.com"}) {
        EXPECT_FALSE(canonical_host(bad).has_value()) << bad;
    }
    EXPECT_FALSE(canonical_host(std::string("a\0b.com", 7)).has_value());
}

TEST(NetworkPolicyPermits, TrailingDotAndIdnaInQueries) {
    NetworkPolicy p = parse_ok("allow=bücher.example,*.Example.org.");
    EXPECT_TRUE(p.permits("BÜCHER.example", 443));
    EXPECT_TRUE(p.permits("xn--bcher-kva.example.", 443));
    EXPECT_TRUE(p.permits("a.example.ORG."));
    EXPECT_FALSE(p.permits("bucher.example", 443));
    EXPECT_FALSE(p.permits("example.org"));
}

TEST(NetworkPolicyPermits, NamesAndAddressesNeverMatchAcross) {
    NetworkPolicy names = parse_ok("allow=example.com,localhost");
    EXPECT_FALSE(names.permits("93.184.216.34", 443));
    EXPECT_FALSE(names.permits("127.0.0.1", 80));
    NetworkPolicy addrs = parse_ok("allow=127.0.0.1,10.0.0.0/8");
    EXPECT_FALSE(addrs.permits("localhost", 80));
    EXPECT_TRUE(addrs.permits("127.0.0.1", 80));
    // Numeric forms that resolve to a listed address are not names and not literals: refused.
    EXPECT_FALSE(addrs.permits("127.1", 80));
    EXPECT_FALSE(addrs.permits("2130706433", 80));
    NetworkPolicy block = parse_ok("block=evil.example");
    EXPECT_FALSE(block.permits("0x7f000001", 80));
    EXPECT_TRUE(block.permits("8.8.8.8", 53));  // a block list allows the rest, literals too
}

TEST(NetworkPolicyPermits, CidrRanges) {
    NetworkPolicy p = parse_ok("allow=10.0.0.0/8,[fd00::]/8:443,192.168.0.0/16:22");
    EXPECT_TRUE(p.permits("10.1.2.3", 80));
    EXPECT_TRUE(p.permits("10.255.255.255"));
    EXPECT_TRUE(p.permits("::ffff:10.1.2.3", 80));
    EXPECT_FALSE(p.permits("11.0.0.1", 80));
    EXPECT_FALSE(p.permits("9.255.255.255", 80));
    EXPECT_TRUE(p.permits("fdab::1", 443));
    EXPECT_FALSE(p.permits("fdab::1", 80));
    EXPECT_FALSE(p.permits("fe00::1", 443));
    EXPECT_TRUE(p.permits("192.168.4.4", 22));
    EXPECT_FALSE(p.permits("192.168.4.4", 0));  // unknown port: not granted
    NetworkPolicy narrow = parse_ok("allow=172.16.0.0/12");
    EXPECT_TRUE(narrow.permits("172.31.255.1"));
    EXPECT_FALSE(narrow.permits("172.32.0.1"));
    NetworkPolicy block = parse_ok("block=169.254.0.0/16");
    EXPECT_FALSE(block.permits("169.254.169.254", 80));
    EXPECT_TRUE(block.permits("169.255.0.1", 80));
}

TEST(NetworkPolicyDecide, NamesTheRule) {
    NetworkPolicy allow = parse_ok("allow=a.example,*.b.example:443,10.0.0.0/8");
    EXPECT_EQ(allow.decide("A.example", 80).rule, "allow entry a.example");
    EXPECT_EQ(allow.decide("x.b.example", 443).rule, "allow entry *.b.example:443");
    EXPECT_EQ(allow.decide("10.9.9.9", 1).rule, "allow entry 10.0.0.0/8");
    NetworkDecision refused = allow.decide("c.example", 80);
    EXPECT_FALSE(refused.allowed);
    EXPECT_EQ(refused.rule, "not in the allow list");
    EXPECT_NE(allow.decide("11.0.0.1", 80).rule.find("IP literal"), std::string::npos);
    EXPECT_NE(allow.decide("127.1", 80).rule.find("not a valid host"), std::string::npos);
    NetworkPolicy block = parse_ok("block=ads.example");
    EXPECT_EQ(block.decide("ads.example", 80).rule, "block entry ads.example");
    EXPECT_FALSE(block.decide("ads.example", 80).allowed);
    EXPECT_EQ(block.decide("ok.example", 80).rule, "not in the block list");
    EXPECT_TRUE(block.decide("ok.example", 80).allowed);
    EXPECT_EQ(NetworkPolicy::denied().decide("a", 1).rule, "network policy deny");
    EXPECT_EQ(NetworkPolicy::full().decide("a", 1).rule, "network policy full");
}

TEST(NetworkPolicyAddressEntry, IpAndCidrEntriesOnly) {
    NetworkPolicy allow = parse_ok("allow=db.internal,10.0.0.0/8:5432,192.168.1.5,[fd00::]/8");
    EXPECT_EQ(allow.address_entry("10.1.1.1", 5432), "10.0.0.0/8:5432");
    EXPECT_EQ(allow.address_entry("10.1.1.1", 80), std::nullopt);
    EXPECT_EQ(allow.address_entry("192.168.1.5", 80), "192.168.1.5");
    EXPECT_EQ(allow.address_entry("::ffff:192.168.1.5", 80), "192.168.1.5");
    EXPECT_EQ(allow.address_entry("fd12::9", 1), "[fd00::]/8");
    EXPECT_EQ(allow.address_entry("192.168.1.6", 80), std::nullopt);
    EXPECT_EQ(allow.address_entry("garbage", 80), std::nullopt);
    NetworkPolicy block = parse_ok("block=10.0.0.0/8:25");
    EXPECT_EQ(block.address_entry("10.2.3.4", 25), "10.0.0.0/8:25");
    EXPECT_EQ(block.address_entry("10.2.3.4", 26), std::nullopt);
    EXPECT_EQ(NetworkPolicy::full().address_entry("10.2.3.4", 25), std::nullopt);
}

}  // namespace
}  // namespace microvm
