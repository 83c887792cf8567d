// Removing a tree a sandbox, QEMU or a guest wrote (host/remove_tree.hpp), attacked: names
// planted where deep directories are moved, a mount below the tree, links out of it.
#include "host/remove_tree.hpp"

#include <fcntl.h>
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
using testsupport::HostDir;

namespace {

// A chain of `levels` directories named d below dir, with a file at the bottom.
void deep_chain(const fs::path& dir, int levels) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    for (int i = 0; i < levels; ++i) {
        ASSERT_EQ(::mkdirat(fd, "d", 0700), 0);
        const int next = ::openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ::close(fd);
        ASSERT_GE(next, 0);
        fd = next;
    }
    const int file = ::openat(fd, "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (file >= 0) ::close(file);
    ::close(fd);
}

// In a mount namespace of a child's own, with a tmpfs at dir: what body returns is its status.
template <class Body>
int in_own_tmpfs(const fs::path& dir, Body body) {
    const pid_t child = ::fork();
    if (child == 0) {
        if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
            ::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=64m") != 0) {
            ::_exit(100);
        }
        ::_exit(body());
    }
    int status = 0;
    if (::waitpid(child, &status, 0) != child || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
}

// The attack (red team, 2026-12-04): the names deep directories are moved up to were planted
// first (a non-empty .microvm-deep-0), the move failed, and the tree stayed for good. On a
// tmpfs, whose directory order puts the planted names where the move meets them.
TEST(RemoveTree, ANamePlantedWhereDeepDirectoriesAreMovedDoesNotKeepTheTree) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "mounting a tmpfs needs root");
    const HostDir scratch("remove-tree-planted");
    const fs::path& dir = scratch.path();
    const int status = in_own_tmpfs(dir, [&] {
        const fs::path top = dir / "tree";
        for (int i = 0; i < 4; ++i) {
            fs::create_directories(top / (".microvm-deep-" + std::to_string(i)));
            std::ofstream(top / (".microvm-deep-" + std::to_string(i)) / "keep") << "x";
        }
        fs::create_directories(top / "a");
        deep_chain(top / "a", 300);
        microvm::host::remove_tree(top.string());
        return fs::exists(top) ? 1 : 0;
    });
    EXPECT_EQ(status, 0) << "the tree stayed (1), or the test could not mount its tmpfs (100)";
}

// What is mounted below the tree is never entered: its files are not the tree's.
TEST(RemoveTree, AMountBelowTheTreeIsNotEntered) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "mounting needs root");
    const HostDir top_dir("remove-tree-mount"), source_dir("remove-tree-source");
    const fs::path &top = top_dir.path(), &source = source_dir.path();
    std::ofstream(source / "precious") << "x";
    ::chmod(source.c_str(), 0755);
    fs::create_directories(top / "x" / "mnt");
    const pid_t child = ::fork();
    if (child == 0) {
        // A mount namespace of its own: the bind never shows outside.
        if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
            ::mount(source.c_str(), (top / "x" / "mnt").c_str(), nullptr, MS_BIND, nullptr) != 0) {
            ::_exit(2);
        }
        microvm::host::remove_tree(top.string());
        ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    EXPECT_TRUE(fs::exists(source / "precious")) << "a file of the mounted directory was removed";
    EXPECT_EQ(fs::status(source).permissions() & fs::perms::all, fs::perms(0755)) << "its mode was changed";
}

// Links out of the tree are removed, never followed; directories the program made unreadable
// (mode 000, 0300) are emptied. Removed by a user of the tree's own, not root, whom no mode stops.
TEST(RemoveTree, LinksAreNotFollowedAndLockedDirectoriesAreEmptied) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "removing as another user needs root to set it up");
    constexpr uid_t kOwner = 65534;
    // top directly below /tmp (sticky): kOwner, whose it becomes, removes it there.
    const HostDir top_dir("remove-tree-links"), outside_dir("remove-tree-outside");
    const fs::path &top = top_dir.path(), &outside = outside_dir.path();
    ::chmod(outside.c_str(), 0755);
    std::ofstream(outside / "kept") << "x";
    for (const char* locked : {"locked", "write-only"}) {
        fs::create_directories(top / locked / "inner");
        std::ofstream(top / locked / "inner" / "f") << "x";
        fs::create_directory_symlink(outside, top / locked / "link");
    }
    for (const auto& e : fs::recursive_directory_iterator(top)) ::lchown(e.path().c_str(), kOwner, kOwner);
    ASSERT_EQ(::chown(top.c_str(), kOwner, kOwner), 0);
    ::chmod((top / "locked").c_str(), 0);
    ::chmod((top / "write-only").c_str(), 0300);
    const pid_t child = ::fork();
    if (child == 0) {
        if (::setgid(kOwner) != 0 || ::setuid(kOwner) != 0) ::_exit(2);
        microvm::host::remove_tree(top.string());
        ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    EXPECT_FALSE(fs::exists(top)) << "a locked directory kept the tree";
    EXPECT_TRUE(fs::exists(outside / "kept"));
}

}  // namespace
