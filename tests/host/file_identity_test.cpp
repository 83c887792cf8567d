// Files judged by what they are, not by the name that reaches them (host/file_identity.hpp).
#include "host/file_identity.hpp"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "support/expectations.hpp"
#include "support/host_files.hpp"

namespace microvm::host {
namespace {

namespace fs = std::filesystem;

class FileIdentityTest : public ::testing::Test {
  protected:
    testsupport::HostDir scratch_{"file-identity"};
    const std::string dir_ = scratch_.path();
};

TEST_F(FileIdentityTest, AnEntryIsNotWhatItsSymlinkNames) {
    fs::create_directory(dir_ + "/real");
    fs::create_directory_symlink(dir_ + "/real", dir_ + "/link");
    EXPECT_EQ(identity_at(dir_ + "/link"), identity_at(dir_ + "/real"));
    EXPECT_NE(identity_of_entry(dir_ + "/link"), identity_at(dir_ + "/real"));
    EXPECT_EQ(identity_at(dir_ + "/absent"), std::nullopt);
}

// The attack the service met (red team, 2026-12-07): another mount of a protected directory
// names it, and what lies in it, by other paths. Judged by identity, the other names are inside.
TEST_F(FileIdentityTest, AnotherMountOfADirectoryIsWithinIt) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "a bind mount needs root");
    fs::create_directories(dir_ + "/state/session/files");
    fs::create_directories(dir_ + "/elsewhere");
    fs::create_directories(dir_ + "/beside");
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {  // the bind lives in a private mount namespace, never the host's
        if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
            ::mount((dir_ + "/state").c_str(), (dir_ + "/elsewhere").c_str(), nullptr, MS_BIND, nullptr) != 0)
            ::_exit(2);
        const std::string state = dir_ + "/state";
        if (!lies_within_by_identity(dir_ + "/elsewhere/session/files", state)) ::_exit(3);
        if (!lies_within_by_identity(dir_ + "/elsewhere", state)) ::_exit(4);
        if (lies_within_by_identity(dir_ + "/beside", state)) ::_exit(5);
        if (lies_within_by_identity(dir_, state)) ::_exit(6);  // holds it: not within
        if (lies_within_by_identity(dir_ + "/elsewhere", dir_ + "/absent")) ::_exit(7);
        ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "2: no private mount, 3/4: another mount not within, 5/6/7: a wrong yes";
}

}  // namespace
}  // namespace microvm::host
