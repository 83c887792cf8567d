// FileSystemPolicy: the --fs forms, path normalisation and round trips.
#include <gtest/gtest.h>

#include <climits>
#include <string>
#include <vector>

#include "microvm/config.hpp"
#include "microvm/policy.hpp"

namespace microvm {
namespace {

FileSystemPolicy parse_ok(std::string_view text) {
    auto p = FileSystemPolicy::parse(text);
    EXPECT_TRUE(p.has_value()) << text << ": " << (p ? "" : p.error().message);
    return p ? *p : FileSystemPolicy{};
}

std::string parse_error(std::string_view text) {
    auto p = FileSystemPolicy::parse(text);
    EXPECT_FALSE(p.has_value()) << text << " parsed as " << (p ? p->to_string() : "");
    if (p) return {};
    EXPECT_EQ(p.error().kind, Failure::Kind::InvalidConfig);
    EXPECT_NE(p.error().message.find("accepted forms"), std::string::npos);
    return p.error().message;
}

// Spaces, tabs and line ends around an entry go; a vertical tab or form feed stays in it, so that
// a path ending in one is that path (refused later as missing), never another path granted.
TEST(FsPolicyParse, OnlySpacesTabsAndLineEndsAreTrimmed) {
    EXPECT_EQ(parse_ok(" rw = /data : /tmp \r\n").paths, (std::vector<std::string>{"/data", "/tmp"}));
    EXPECT_EQ(parse_ok("rw=/data\f").paths, std::vector<std::string>{"/data\f"});
    EXPECT_EQ(parse_ok("ro=/usr\v").paths, std::vector<std::string>{"/usr\v"});
}

TEST(FsPolicyParse, Forms) {
    EXPECT_EQ(parse_ok("none"), FileSystemPolicy::none());
    EXPECT_EQ(parse_ok("full"), FileSystemPolicy::full());
    EXPECT_EQ(parse_ok("ro"), FileSystemPolicy::read_only());
    EXPECT_EQ(parse_ok("ro=/data:/etc"), FileSystemPolicy::read_only({"/data", "/etc"}));
    EXPECT_EQ(parse_ok("rw=/a:/b"), FileSystemPolicy::read_write({"/a", "/b"}));
}

TEST(FsPolicyParse, NormalisesPathsLexically) {
    EXPECT_EQ(parse_ok("ro=/data/./x//y/").paths, std::vector<std::string>{"/data/x/y"});
    EXPECT_EQ(parse_ok("ro=/").paths, std::vector<std::string>{"/"});  // refused when bound
}

TEST(FsPolicyParse, ReadOnlyAndReadWriteCombine) {
    EXPECT_EQ(parse_ok("rw=/out;ro=/usr:/etc"), FileSystemPolicy::read_write({"/out"}, {"/usr", "/etc"}));
    EXPECT_EQ(parse_ok("ro=/usr;rw=/out"), FileSystemPolicy::read_write({"/out"}, {"/usr"}));
    // A bare ro beside rw is the system directories, spelled out.
    FileSystemPolicy with_system = parse_ok("ro;rw=/out");
    EXPECT_EQ(with_system.read_only_paths, standard_system_dirs());
    EXPECT_NE(parse_error("ro=/a;ro=/b").find("do not combine"), std::string::npos);
    EXPECT_NE(parse_error("rw=/a;none").find("do not combine"), std::string::npos);
    EXPECT_NE(parse_error("ro;rw=/a;full").find("at most a ro and a rw"), std::string::npos);
}

TEST(FsPolicyParse, RejectsBadInput) {
    EXPECT_NE(parse_error("ro=data").find("not absolute"), std::string::npos);
    EXPECT_NE(parse_error("rw=./x").find("not absolute"), std::string::npos);
    // ".." names another place through a symlink than lexically: refused, never resolved.
    EXPECT_NE(parse_error("ro=/..").find("contains '..'"), std::string::npos);
    EXPECT_NE(parse_error("ro=/a/../../etc").find("contains '..'"), std::string::npos);
    EXPECT_NE(parse_error("rw=/tmp/a/b/../..").find("contains '..'"), std::string::npos);
    EXPECT_NE(parse_error("ro=/a::/b").find("empty entry"), std::string::npos);
    EXPECT_NE(parse_error("ro=/a:").find("empty entry"), std::string::npos);
    EXPECT_NE(parse_error("ro=").find("empty"), std::string::npos);
    EXPECT_NE(parse_error("rw").find("at least one path"), std::string::npos);
    EXPECT_NE(parse_error("rw=").find("empty"), std::string::npos);
    EXPECT_NE(parse_error("full=/x").find("only ro and rw"), std::string::npos);
    EXPECT_NE(parse_error("readonly").find("unknown form"), std::string::npos);
    EXPECT_NE(parse_error("").find("empty"), std::string::npos);
    EXPECT_NE(parse_error(std::string("ro=/a\0b", 7)).find("NUL"), std::string::npos);
}

TEST(FsPolicyParse, RoundTripsThroughToString) {
    for (const char* text :
         {"none", "full", "ro", "ro=/data:/etc", "rw=/tmp/x", "ro=/a/./b/c", "rw=/o;ro=/u"}) {
        FileSystemPolicy p = parse_ok(text);
        EXPECT_EQ(parse_ok(p.to_string()), p) << text << " -> " << p.to_string();
    }
    EXPECT_EQ(parse_ok("ro=/a/./b//c/").to_string(), "ro=/a/b/c");
    EXPECT_EQ(parse_ok("ro=/u;rw=/o").to_string(), "rw=/o;ro=/u");
}

TEST(PolicyPath, Normalize) {
    EXPECT_EQ(*normalize_policy_path("//x///y/."), "/x/y");
    EXPECT_FALSE(normalize_policy_path("").has_value());
    EXPECT_FALSE(normalize_policy_path("/a:b").has_value());
    EXPECT_FALSE(normalize_policy_path("relative").has_value());
}

// The attack (red team, 2026-12-05): a policy path of 1 MB ("/a/a/a...") cost microvmd's
// connection thread 20 s of CPU resolving it, before admission or any quota. No host path is
// PATH_MAX bytes long: it is refused here, and the refusal does not repeat it.
TEST(PolicyPath, PathsOfPathMaxBytesAreRefusedBriefly) {
    const std::string longest = "/" + std::string(PATH_MAX - 2, 'a');
    EXPECT_TRUE(normalize_policy_path(longest));
    std::string huge;
    for (int i = 0; i < 500000; ++i) huge += "/a";
    const auto n = normalize_policy_path(huge);
    ASSERT_FALSE(n);
    EXPECT_NE(n.error().message.find("PATH_MAX"), std::string::npos) << n.error().message;
    EXPECT_LT(n.error().message.size(), 400u);
    EXPECT_FALSE(normalize_policy_path(longest + "a"));
    const auto p = FileSystemPolicy::parse("ro=" + huge);
    ASSERT_FALSE(p);
    EXPECT_LT(p.error().message.size(), 1000u);
}

// Each path is a bind mount and a resolution on the host: a policy names at most
// kMaxPolicyPaths, whichever form it came in (JSON and TOML lists do not go through parse()).
TEST(PolicyPath, APolicyNamesAtMostKMaxPolicyPaths) {
    std::vector<std::string> paths;
    for (size_t i = 0; i < kMaxPolicyPaths; ++i) paths.push_back("/p" + std::to_string(i));
    MicroVMConfig config;
    config.fs_policy = FileSystemPolicy::read_write({"/w"}, std::vector<std::string>(paths.begin() + 1, paths.end()));
    EXPECT_TRUE(config.validate());
    config.fs_policy.read_only_paths.push_back("/one-more");
    const auto v = config.validate();
    ASSERT_FALSE(v);
    EXPECT_NE(v.error().message.find("at most 256"), std::string::npos) << v.error().message;
}

}  // namespace
}  // namespace microvm
