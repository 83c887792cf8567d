// Policy paths as the host checks them before anything is bound (host/policy_source.hpp).
#include "host/policy_source.hpp"

#include <gtest/gtest.h>
#include <sched.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

namespace microvm::host {
namespace {

namespace fs = std::filesystem;

// Each check with a snapshot of its own, as each sandbox plan takes one.
Expected<CheckedSource> check(const std::string& path) {
    MountTable mounts;
    return check_policy_source(path, mounts);
}

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
    auto checked = check(dir_ + "/data");
    ASSERT_TRUE(checked) << checked.error().message;
    EXPECT_EQ(checked->real_path, fs::canonical(dir_ + "/data").string());
    EXPECT_TRUE(checked->directory);
    struct stat st;
    ASSERT_EQ(::stat((dir_ + "/data").c_str(), &st), 0);
    EXPECT_EQ(checked->identity, (FileIdentity{st.st_dev, st.st_ino}));
    EXPECT_EQ(checked->owner_uid, st.st_uid);
}

// Whoever hands a checked source on opens it again: the object that was checked comes back; a
// symlink swapped in for it, another directory renamed over it, or a file where the directory
// was is refused as replaced, never opened.
TEST_F(PolicySource, ReopeningGivesTheCheckedObjectOrRefusesWhatReplacedIt) {
    const std::string data = dir_ + "/data";
    fs::create_directory(data);
    auto checked = check(data);
    ASSERT_TRUE(checked) << checked.error().message;
    auto same = open_checked_source(checked->real_path, checked->identity, true);
    ASSERT_TRUE(same) << same.error().message;
    struct stat st;
    ASSERT_EQ(::fstat(same->get(), &st), 0);
    EXPECT_EQ((FileIdentity{st.st_dev, st.st_ino}), checked->identity);

    fs::create_directory(dir_ + "/other");
    fs::rename(data, dir_ + "/data.checked");
    auto refused = [&](const std::string& why) {
        auto opened = open_checked_source(checked->real_path, checked->identity, true);
        ASSERT_FALSE(opened) << why;
        EXPECT_EQ(opened.error().kind, Failure::Kind::SetupError) << why;
        EXPECT_NE(opened.error().message.find("'" + data + "' was replaced after it was checked"),
                  std::string::npos)
            << why << ": " << opened.error().message;
    };
    fs::create_directory_symlink(dir_ + "/other", data);
    refused("a symlink in its place");
    fs::remove(data);
    fs::create_directory(data);
    refused("another directory in its place");
    fs::remove(data);
    ::close(::open(data.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
    refused("a file in its place");
    fs::remove(data);
    refused("nothing in its place");
}

// The attack: an earlier sandbox with rw on a directory planted a symlink there (to /etc, or to a
// directory of its own choosing); a later policy naming that path is refused, whatever the
// symlink's owner (a sandbox writes as the directory's owner), while the system's own links in
// "/" (/lib -> usr/lib on merged-/usr systems) still lead where they do.
TEST_F(PolicySource, SymlinksAreNotFollowedExceptTheSystemsOwnInTheRoot) {
    fs::create_directory(dir_ + "/data");
    fs::create_directory_symlink(dir_ + "/data", dir_ + "/link");
    fs::create_directory_symlink("/etc", dir_ + "/etc-link");
    fs::create_directory(dir_ + "/dir");
    fs::create_directory_symlink("../data", dir_ + "/dir/up");
    for (const std::string& path : {dir_ + "/link", dir_ + "/etc-link", dir_ + "/dir/up"}) {
        auto checked = check(path);
        ASSERT_FALSE(checked) << path;
        EXPECT_EQ(checked.error().kind, Failure::Kind::InvalidInput);
        EXPECT_NE(checked.error().message.find("through a symlink"), std::string::npos)
            << checked.error().message;
    }
    std::error_code ec;
    if (fs::is_symlink("/lib", ec)) {
        auto lib = check("/lib");
        ASSERT_TRUE(lib) << lib.error().message;
        EXPECT_EQ(lib->real_path, fs::canonical("/lib").string());
    }
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
        auto checked = check(link);
        ASSERT_FALSE(checked) << c.target;
        EXPECT_EQ(checked.error().kind, Failure::Kind::InvalidInput);
        EXPECT_NE(checked.error().message.find("fs_policy path '" + link + "'"), std::string::npos)
            << checked.error().message;
        EXPECT_NE(checked.error().message.find(c.expect), std::string::npos)
            << checked.error().message;
    }
}

// A directory holding a kernel interface further down (binds are recursive) is refused, also
// when its name needs escaping in /proc/self/mountinfo ("\040" for the blank), and also when
// the pass checks other paths first with the same snapshot of the mount table.
TEST_F(PolicySource, DirectoryHoldingAKernelInterfaceIsRefused) {
    const std::string outer = dir_ + "/a b";
    fs::create_directories(outer + "/inner/proc");
    fs::create_directory(dir_ + "/plain");
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {  // the mount lives in a private mount namespace, never the host's
        if (::unshare(CLONE_NEWNS) != 0 ||
            ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
            ::mount("proc", (outer + "/inner/proc").c_str(), "proc", 0, nullptr) != 0) {
            ::_exit(2);
        }
        MountTable mounts;
        if (!check_policy_source(dir_ + "/plain", mounts)) ::_exit(3);
        auto checked = check_policy_source(outer, mounts);
        if (checked) ::_exit(4);
        if (checked.error().message.find("holds a proc at " + outer + "/inner/proc") ==
            std::string::npos) {
            ::_exit(5);
        }
        ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "2: no private mount, 3: plain refused, 4: accepted, "
                                         "5: another reason";
}

// The attack: exhaust the host's descriptors so that the mount table cannot be read, which left
// it empty and let a directory holding a proc pass. With one descriptor left (for the path
// itself), the check must refuse the directory, not pass it.
TEST_F(PolicySource, ADirectoryIsRefusedWhenTheMountTableCannotBeRead) {
    pid_t child = ::fork();
    if (child == 0) {
        rlimit lim{64, 64};
        if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) ::_exit(4);
        int last = -1;
        for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) last = fd;
        if (last < 0) ::_exit(4);
        ::close(last);  // one left: the path's own descriptor
        MountTable mounts;
        auto checked = check_policy_source(dir_, mounts);
        if (checked) ::_exit(1);
        ::_exit(checked.error().message.find("mountinfo could not be read") != std::string::npos ? 0 : 2);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "1: accepted; 2: refused for another reason";
}

TEST_F(PolicySource, MagicLinksAreNeverFollowed) {
    auto checked = check("/proc/self/cwd");
    ASSERT_FALSE(checked);
    EXPECT_NE(checked.error().message.find("magic link"), std::string::npos)
        << checked.error().message;
}

TEST_F(PolicySource, SocketsAndMissingPathsAreRefused) {
    EXPECT_FALSE(check(dir_ + "/missing"));
    ASSERT_EQ(::mkfifo((dir_ + "/fifo").c_str(), 0600), 0);
    auto fifo = check(dir_ + "/fifo");
    ASSERT_FALSE(fifo);
    EXPECT_NE(fifo.error().message.find("neither a directory nor a regular file"),
              std::string::npos);
}

}  // namespace
}  // namespace microvm::host
