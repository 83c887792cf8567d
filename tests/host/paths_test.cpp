#include "host/paths.hpp"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <string>

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

// The longest prefix that exists is resolved, whatever its depth, and the rest is kept as given;
// the prefix is found by halving (a hostile policy's 4 KB path of 2047 components cost 2047
// realpath calls, for each of 256 paths, before microvmd's admission: a review, 2026-12-05).
TEST(Paths, ResolvedKeepsWhatDoesNotExistBelowTheLongestRealPrefix) {
    namespace fs = std::filesystem;
    std::string tmpl = (fs::temp_directory_path() / "microvm-resolved-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    const std::string dir = canonical_host_path(tmpl).value();
    fs::create_directories(dir + "/a/b/c");
    fs::create_symlink(dir + "/a/b", dir + "/link");
    ::close(::creat((dir + "/a/file").c_str(), 0600));
    EXPECT_EQ(resolved_path(dir + "/a/b/c"), dir + "/a/b/c");
    EXPECT_EQ(resolved_path(dir + "/link/c/x/y"), dir + "/a/b/c/x/y");
    EXPECT_EQ(resolved_path(dir + "//link/./c//x/"), dir + "/a/b/c/x");
    EXPECT_EQ(resolved_path(dir + "/link/x"), dir + "/a/b/x");
    EXPECT_EQ(resolved_path(dir + "/a/file/x"), dir + "/a/file/x");
    EXPECT_EQ(resolved_path("/nonexistent-microvm/x"), "/nonexistent-microvm/x");
    EXPECT_EQ(resolved_path("/"), "/");
    // Every depth of the existing part, under a long missing tail.
    std::string missing;
    for (int i = 0; i < 1000; ++i) missing += "/m";
    for (const std::string& real : {dir, dir + "/a", dir + "/a/b", dir + "/a/b/c"}) {
        EXPECT_EQ(resolved_path(real + missing), real + missing);
    }
    EXPECT_EQ(resolved_path(dir + "/link/c" + missing), dir + "/a/b/c" + missing);
    const std::string too_long = dir + "/link" + std::string(PATH_MAX, 'x');
    EXPECT_EQ(resolved_path(too_long), too_long) << "no system call takes it";
    fs::remove_all(dir);
}

}  // namespace
}  // namespace microvm::host
