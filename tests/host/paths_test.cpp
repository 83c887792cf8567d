#include "host/paths.hpp"

#include <gtest/gtest.h>

namespace microvm::host {
namespace {

TEST(Paths, NormalizesAbsolutePaths) {
    EXPECT_EQ(*normalize_absolute_path("/a//b/./c/"), "/a/b/c");
    EXPECT_EQ(*normalize_absolute_path("/"), "/");
    EXPECT_EQ(*normalize_absolute_path("//"), "/");
}

TEST(Paths, RejectsRelativeDotDotEmptyAndNul) {
    for (const std::string& bad : std::vector<std::string>{"", "etc", "./etc", "/etc/../root",
                                                           "/..", std::string("/a\0b", 4)}) {
        auto r = normalize_absolute_path(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().kind, Failure::Kind::InvalidInput);
    }
}

TEST(Paths, Within) {
    EXPECT_TRUE(is_within("/usr/lib", "/usr"));
    EXPECT_TRUE(is_within("/usr", "/usr"));
    EXPECT_TRUE(is_within("/anything", "/"));
    EXPECT_FALSE(is_within("/usrx", "/usr"));
    EXPECT_FALSE(is_within("/us", "/usr"));
}

TEST(Paths, ParentsAndComponents) {
    EXPECT_EQ(parent_path("/a/b"), "/a");
    EXPECT_EQ(parent_path("/a"), "/");
    EXPECT_EQ(path_components("/a/b/c"), (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_TRUE(path_components("/").empty());
}

TEST(Paths, CanonicalResolvesSymlinksAndReportsMissing) {
    EXPECT_EQ(*canonical_host_path("/proc/self/.."), "/proc");
    EXPECT_FALSE(canonical_host_path("/nonexistent/path/x"));
}

}  // namespace
}  // namespace microvm::host
