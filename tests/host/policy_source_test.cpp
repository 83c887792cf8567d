// Policy paths as the host checks them before anything is bound (host/policy_source.hpp).
#include "host/policy_source.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace microvm::host {
namespace {

namespace fs = std::filesystem;

class PolicySource : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/policy-source-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::string dir_;
};

TEST_F(PolicySource, ResolvesOnceAndRecordsWhatWasChecked) {
    fs::create_directory(dir_ + "/data");
    fs::create_directory_symlink(dir_ + "/data", dir_ + "/link");
    auto checked = check_policy_source(dir_ + "/link");
    ASSERT_TRUE(checked) << checked.error().message;
    EXPECT_EQ(checked->real_path, fs::canonical(dir_ + "/data").string());
    EXPECT_TRUE(checked->directory);
    struct stat st;
    ASSERT_EQ(::stat((dir_ + "/data").c_str(), &st), 0);
    EXPECT_EQ(checked->identity, (FileIdentity{st.st_dev, st.st_ino}));
    EXPECT_EQ(checked->owner_uid, st.st_uid);
}

TEST_F(PolicySource, RefusesTheHostsRootAndKernelInterfacesNamingThePath) {
    struct Case {
        std::string target, expect;
    };
    for (const Case& c : {Case{"/", "the host's whole tree"}, Case{"/proc", "inside /proc"},
                          Case{"/proc/1/root", "fs_policy path"},  // a magic link: refused
                          Case{"/sys/kernel", "inside /sys"},
                          Case{"/dev/shm", "inside /dev"}}) {
        const std::string link = dir_ + "/l";
        fs::remove(link);
        fs::create_symlink(c.target, link);
        auto checked = check_policy_source(link);
        ASSERT_FALSE(checked) << c.target;
        EXPECT_EQ(checked.error().kind, Failure::Kind::InvalidInput);
        EXPECT_NE(checked.error().message.find("fs_policy path '" + link + "'"), std::string::npos)
            << checked.error().message;
        EXPECT_NE(checked.error().message.find(c.expect), std::string::npos)
            << checked.error().message;
    }
}

TEST_F(PolicySource, MagicLinksAreNeverFollowed) {
    auto checked = check_policy_source("/proc/self/cwd");
    ASSERT_FALSE(checked);
    EXPECT_NE(checked.error().message.find("magic link"), std::string::npos)
        << checked.error().message;
}

TEST_F(PolicySource, SocketsAndMissingPathsAreRefused) {
    EXPECT_FALSE(check_policy_source(dir_ + "/missing"));
    ASSERT_EQ(::mkfifo((dir_ + "/fifo").c_str(), 0600), 0);
    auto fifo = check_policy_source(dir_ + "/fifo");
    ASSERT_FALSE(fifo);
    EXPECT_NE(fifo.error().message.find("neither a directory nor a regular file"),
              std::string::npos);
}

}  // namespace
}  // namespace microvm::host
