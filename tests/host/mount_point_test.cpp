// A VM's share mounted onto its mount point as opened, never through a symlink
// (host/mount_point.hpp): the attack (red team, 2026-12-06) swapped a nested share's mount point,
// inside a live outer share, for a symlink to the guest's /bin while the VM booted, and the
// victim's program became the attacker's.
#include "host/mount_point.hpp"

#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "support/expectations.hpp"
#include "support/host_files.hpp"

namespace fs = std::filesystem;
using microvm::host::mount_target;
using microvm::host::open_mount_point;

namespace {

bool same_inode(int fd, const fs::path& path) {
    struct stat a {}, b {};
    return ::fstat(fd, &a) == 0 && ::stat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

TEST(MountPoint, OpensTheDirectoryAndMakesWhatIsMissing) {
    const testsupport::HostDir temp("mount-point-made");
    const fs::path& dir = temp.path();
    auto existing = open_mount_point(dir.string());
    ASSERT_TRUE(existing) << existing.error().message;
    EXPECT_TRUE(same_inode(existing->get(), dir));
    auto made = open_mount_point((dir / "a" / "b").string() + "/");
    ASSERT_TRUE(made) << made.error().message;
    EXPECT_TRUE(fs::is_directory(dir / "a" / "b"));
    EXPECT_TRUE(same_inode(made->get(), dir / "a" / "b"));
    EXPECT_EQ(mount_target(*made), "/proc/self/fd/" + std::to_string(made->get()));
}

TEST(MountPoint, ASymlinkOnTheWayIsRefusedAndNothingIsMadeWhereItLeads) {
    const testsupport::HostDir temp("mount-point-link");
    const fs::path& dir = temp.path();
    fs::create_directories(dir / "elsewhere");
    fs::create_directory_symlink(dir / "elsewhere", dir / "B");
    for (const fs::path& p : {dir / "B", dir / "B" / "inner"}) {
        auto r = open_mount_point(p.string());
        ASSERT_FALSE(r) << p;
        EXPECT_NE(r.error().message.find((dir / "B").string() + " is a symlink or not a directory"), std::string::npos)
            << r.error().message;
    }
    EXPECT_FALSE(fs::exists(dir / "elsewhere" / "inner"));
    std::ofstream(dir / "file") << "x";
    EXPECT_FALSE(open_mount_point((dir / "file").string()));
    EXPECT_FALSE(open_mount_point("relative/path"));
    EXPECT_FALSE(open_mount_point((dir / ".." / "x").string()));
    // "." names the same place: dropped, as in every policy path.
    auto dotted = open_mount_point((dir / "." / "x").string());
    ASSERT_TRUE(dotted) << dotted.error().message;
    EXPECT_TRUE(same_inode(dotted->get(), dir / "x"));
}

// The mount goes onto the directory as opened: swapped for a symlink after the open, the mount
// still lands on the directory (now under another name), never where the symlink leads.
TEST(MountPoint, AMountLandsOnTheOpenedDirectoryAfterASwap) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "mounting needs root");
    const testsupport::HostDir temp("mount-point-swap");
    const fs::path& dir = temp.path();
    fs::create_directories(dir / "B");
    fs::create_directories(dir / "bin");
    const pid_t child = ::fork();
    if (child == 0) {
        if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
            ::_exit(100);
        auto point = open_mount_point((dir / "B").string());
        if (!point) ::_exit(101);
        // The other writer: B renamed away, a symlink to "bin" in its place.
        if (::rename((dir / "B").c_str(), (dir / "Breal").c_str()) != 0 ||
            ::symlink((dir / "bin").c_str(), (dir / "B").c_str()) != 0)
            ::_exit(102);
        if (::mount("tmpfs", mount_target(*point).c_str(), "tmpfs", 0, "size=1m") != 0) ::_exit(103);
        // A mount root has a device of its own: Breal's is the new tmpfs, bin's is still dir's.
        struct stat top {}, onto {}, bin {};
        if (::stat(dir.c_str(), &top) != 0 || ::stat((dir / "Breal").c_str(), &onto) != 0 ||
            ::stat((dir / "bin").c_str(), &bin) != 0)
            ::_exit(104);
        const bool right = onto.st_dev != top.st_dev && bin.st_dev == top.st_dev;
        ::_exit(right ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "1: the mount followed the symlink; 100+: the test could not set up";
}

}  // namespace
