// microvm/trusted_path.hpp against a file system that lies about owners: a FUSE server reports
// whatever owner and mode it likes, so a user's mount (visible to root with `user_allow_other`)
// could pass its files off as root's settings file, runsc or guest runner.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "microvm/trusted_path.hpp"
#include "support/expectations.hpp"
#include "support/lying_fuse.hpp"
#include "support/trusted_temp.hpp"

using namespace microvm;

namespace {

constexpr uid_t kUser = 65534;

// A directory of a user's in `base`, with a lying FUSE file system mounted on it.
class LyingMountTest : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        MICROVM_REQUIRE("root", ::geteuid() == 0, "mounting a FUSE file system needs root");
        std::string tmpl = GetParam() + "/microvm-fuse-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        mount_point_ = tmpl;
        // The user's own directory: refused as it is, before anything is mounted on it.
        ASSERT_EQ(::chown(mount_point_.c_str(), kUser, kUser), 0);
        ASSERT_FALSE(owned_real_path(mount_point_, "state directory").has_value());
        mount_.emplace(mount_point_);
        ASSERT_TRUE(mount_->mounted()) << mount_->error();
        // The lie holds: what the user mounted is root's, 0755, as far as stat can tell.
        struct stat st;
        ASSERT_EQ(::stat((mount_point_ + "/d/tool").c_str(), &st), 0);
        ASSERT_EQ(st.st_uid, 0u);
        ASSERT_EQ(st.st_mode, static_cast<mode_t>(S_IFREG | 0755));
        ASSERT_EQ(::stat(mount_point_.c_str(), &st), 0);
        ASSERT_EQ(st.st_uid, 0u);
    }

    void TearDown() override {
        mount_.reset();
        if (!mount_point_.empty()) ::rmdir(mount_point_.c_str());
    }

    void expect_refused(const Expected<std::string>& judged) {
        ASSERT_FALSE(judged.has_value()) << "trusted: " << *judged;
        EXPECT_EQ(judged.error().kind, Failure::Kind::SetupError);
        EXPECT_NE(judged.error().message.find("FUSE"), std::string::npos) << judged.error().message;
    }

    std::string mount_point_;
    std::optional<testsupport::LyingFuseMount> mount_;
};

TEST_P(LyingMountTest, NothingOnItIsTrusted) {
    expect_refused(trusted_real_path(mount_point_ + "/settings.toml", "settings file"));
    expect_refused(trusted_executable(mount_point_ + "/d/tool", "runsc"));
    expect_refused(owned_real_path(mount_point_, "state directory"));
    expect_refused(owned_executable(mount_point_ + "/d/tool", "guest runner"));
    expect_refused(searched_real_path(mount_point_ + "/d/tool", "gvisor launcher", /*executable=*/true));
}

// /run: where only root may make entries, as a user's home is below /home; /tmp: sticky, where
// owned_real_path accepts a directory of root's.
INSTANTIATE_TEST_SUITE_P(Places, LyingMountTest, ::testing::Values("/run", "/tmp"),
                         [](const auto& info) { return info.param.substr(1); });

}  // namespace
