// host/full_memory_mounts.hpp: which of the host's memory file systems a Full sandbox gets a
// private instance of, and which it sees read-only. The table is made up (the rule trusts its
// file system types), over real directories, whose modes and devices the rule reads.
#include "host/full_memory_mounts.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/host_files.hpp"

namespace fs = std::filesystem;
using microvm::host::full_memory_mounts;
using microvm::host::Mount;
using microvm::host::MountEntry;

namespace {

std::string dir_with_mode(const fs::path& path, mode_t mode) {
    fs::create_directories(path);
    ::chmod(path.c_str(), mode);
    return path.string();
}

MountEntry entry(const std::string& point, const std::string& fstype, const std::string& options = "rw") {
    struct stat st {};
    ::lstat(point.c_str(), &st);
    return {std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev)), "/", point, options, fstype, "rw"};
}

const Mount* at(const std::vector<Mount>& mounts, const std::string& target) {
    auto it = std::find_if(mounts.begin(), mounts.end(), [&](const Mount& m) { return m.target == target; });
    return it == mounts.end() ? nullptr : &*it;
}

TEST(FullMemoryMounts, OthersWritableRootsArePrivateAndTheRestReadOnly) {
    const testsupport::HostDir scratch("full-memory-mounts");
    const fs::path top = dir_with_mode(scratch.path(), 0755);
    const std::string shared = dir_with_mode(top / "shared", 01777), hidden = dir_with_mode(top / "shared/below", 0755),
                      closed = dir_with_mode(top / "closed", 0755), open = dir_with_mode(top / "closed/open", 01777),
                      nested = dir_with_mode(top / "closed/nested", 0755), disk = dir_with_mode(top / "disk", 01777),
                      read_only = dir_with_mode(top / "ro", 01777), planned = dir_with_mode(top / "planned", 01777),
                      unreachable = dir_with_mode(top / "private/x", 01777),
                      queues = dir_with_mode(top / "queues", 01777);
    ::chmod((top / "private").c_str(), 0700);  // others may not search it
    MountEntry elsewhere = entry(top / "moved", "tmpfs");
    dir_with_mode(top / "moved", 01777);
    elsewhere.device = "0:999999";  // another file system is at that path now
    const std::vector<MountEntry> table = {
        entry(shared, "tmpfs", "rw,nosuid,noexec"), entry(hidden, "tmpfs"), entry(closed, "ramfs"), entry(open, "tmpfs"),
        entry(nested, "tmpfs"), entry(disk, "ext4"), entry(read_only, "tmpfs", "ro,nosuid"),
        entry(planned, "tmpfs"), entry(unreachable, "tmpfs"), entry(queues, "mqueue"), elsewhere};
    const std::vector<Mount> already = {{Mount::Kind::Tmpfs, "tmpfs", planned}};

    const std::vector<Mount> got = full_memory_mounts(table, already, 1u << 20);

    ASSERT_NE(at(got, shared), nullptr);
    EXPECT_EQ(at(got, shared)->kind, Mount::Kind::Tmpfs);
    EXPECT_TRUE(at(got, shared)->writable);
    EXPECT_EQ(at(got, shared)->size_bytes, 1u << 20);
    EXPECT_TRUE(at(got, shared)->noexec);  // as the host's mount: its hardening stays
    ASSERT_NE(at(got, closed), nullptr);
    EXPECT_EQ(at(got, closed)->kind, Mount::Kind::HostReadOnly);
    struct stat st {};
    ::lstat(closed.c_str(), &st);
    EXPECT_EQ(at(got, closed)->identity.ino, st.st_ino);
    ASSERT_NE(at(got, open), nullptr);  // below a read-only one, still others-writable
    EXPECT_EQ(at(got, open)->kind, Mount::Kind::Tmpfs);
    EXPECT_FALSE(at(got, open)->noexec);
    ASSERT_NE(at(got, queues), nullptr);
    EXPECT_EQ(at(got, queues)->kind, Mount::Kind::Mqueue);
    // Below a read-only one, a memory mount gets its own verdict: the read-only flag is that
    // mount's alone (a memory root made read-only must not leave /run writable, nor make the
    // host's disks read-only: a review, 2026-12-06).
    ASSERT_NE(at(got, nested), nullptr);
    EXPECT_EQ(at(got, nested)->kind, Mount::Kind::HostReadOnly);
    for (const std::string& left_out : {hidden, disk, read_only, planned, unreachable, elsewhere.mount_point}) {
        EXPECT_EQ(at(got, left_out), nullptr) << left_out;
    }
    // Parents before children: a read-only parent never lands over a private child.
    const auto index = [&](const std::string& t) { return at(got, t) - got.data(); };
    EXPECT_LT(index(closed), index(open));
    EXPECT_LT(index(closed), index(nested));
}

// Of several mounts listed at one point, the one the path leads to is judged, wherever the table
// lists it (since Linux 6.8 by mount id: a mount moved over a newer one comes first).
TEST(FullMemoryMounts, TheMountThePathLeadsToIsJudgedWhereverTheTableListsIt) {
    const testsupport::HostDir scratch("full-memory-mounts");
    const std::string point = dir_with_mode(fs::path(dir_with_mode(scratch.path(), 0755)) / "point", 01777);
    MountEntry under = entry(point, "ext4"), over = entry(point, "tmpfs");
    under.device = "0:999999";  // hidden below the one the path leads to
    for (const std::vector<MountEntry>& table : {std::vector<MountEntry>{over, under}, std::vector<MountEntry>{under, over}}) {
        const std::vector<Mount> got = full_memory_mounts(table, {}, 1u << 20);
        ASSERT_NE(at(got, point), nullptr);
        EXPECT_EQ(at(got, point)->kind, Mount::Kind::Tmpfs);
    }
}

// fs full on a host whose /tmp is a tmpfs: a program in it is not there inside. Refused up
// front, naming the mount, instead of "not found" from inside (a review, 2026-12-06).
TEST(FullMemoryMounts, AProgramInAPrivateInstanceIsRefusedNamingIt) {
    Mount own{Mount::Kind::Tmpfs, "tmpfs", "/run/user-scratch"};
    auto refused = microvm::host::check_program_outside_private_mounts("/run/user-scratch/tool", {own});
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("/run/user-scratch"), std::string::npos) << refused.error().message;
    EXPECT_TRUE(microvm::host::check_program_outside_private_mounts("/bin/sh", {own}));
    Mount read_only{Mount::Kind::HostReadOnly, "/run", "/run"};
    EXPECT_TRUE(microvm::host::check_program_outside_private_mounts("/run/tool", {read_only}));
}

}  // namespace
