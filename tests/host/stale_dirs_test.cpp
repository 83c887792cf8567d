// Names of what a host process leaves in shared places (host/stale_dirs.hpp): a later process
// removes what a dead owner left, and nothing of a live one's, including one in another pid
// namespace whose pids mean nothing here.
#include "host/stale_dirs.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "host/remove_tree.hpp"
#include "support/host_files.hpp"

namespace fs = std::filesystem;
using microvm::host::left_by_dead_owner;
using microvm::host::owned_name;

namespace {

pid_t dead_pid() {
    pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);
    ::waitpid(pid, nullptr, 0);
    return pid;
}

std::string own_namespace() {
    struct stat st;
    EXPECT_EQ(::stat("/proc/self/ns/pid", &st), 0);
    return std::to_string(st.st_ino);
}

TEST(StaleDirs, NamesCarryThePidAndItsNamespace) {
    const std::string a = owned_name("p-"), b = owned_name("p-");
    EXPECT_NE(a, b);
    EXPECT_TRUE(a.starts_with("p-" + std::to_string(::getpid()) + "." + own_namespace() + "-")) << a;
    EXPECT_FALSE(left_by_dead_owner(a, "p-")) << "this process's own";
}

// Run by the test below in a process of its own: its first name.
TEST(StaleDirs, DISABLED_PrintsItsFirstName) { std::printf("name=%s\n", owned_name("p-").c_str()); }

// The attack (red team, 2026-12-06): serials started at 0 in every process, so a host given the
// pid of one killed earlier (common at boot) made the dead one's names again: the cgroup existed
// ("exists already", every run of that CLI failed), and its sweep left it alone as its own.
// Two fresh processes do not start at the same serial.
TEST(StaleDirs, AFreshProcessDoesNotStartAtAPredecessorsSerial) {
    auto first_serial = []() -> std::string {
        const std::string cmd = "/proc/" + std::to_string(::getpid()) +
                                "/exe --gtest_also_run_disabled_tests --gtest_filter=StaleDirs.DISABLED_PrintsItsFirstName";
        FILE* p = ::popen(cmd.c_str(), "r");
        if (!p) return "";
        std::string out;
        char buf[256];
        while (std::fgets(buf, sizeof buf, p)) out += buf;
        ::pclose(p);
        const size_t at = out.find("name=");
        if (at == std::string::npos) return "";
        const std::string name = out.substr(at, out.find('\n', at) - at);
        return name.substr(name.rfind('-') + 1);
    };
    const std::string a = first_serial(), b = first_serial();
    ASSERT_FALSE(a.empty());
    ASSERT_FALSE(b.empty());
    EXPECT_NE(a, b) << "both processes started at serial " << a;
}

// The attack (red team, 2026-12-03): a host process in another container sharing the cgroup
// hierarchy (or /run) names its live cgroups with pids that do not exist here; a sweep judging
// by the pid alone removed them, killing what ran inside.
TEST(StaleDirs, ANameOfAnotherPidNamespaceIsNeverStale) {
    const pid_t dead = dead_pid();
    const std::string here = "p-" + std::to_string(dead) + "." + own_namespace() + "-0";
    const std::string elsewhere = "p-" + std::to_string(dead) + ".4026531999-0";
    EXPECT_TRUE(left_by_dead_owner(here, "p-"));
    EXPECT_FALSE(left_by_dead_owner(elsewhere, "p-"));
    EXPECT_FALSE(left_by_dead_owner("p-" + std::to_string(::getppid()) + "." + own_namespace() + "-0", "p-"))
        << "a live owner";
    for (const char* garbage : {"p-", "p-x-0", "p-12.x-0", "p-0.1-0", "p-12.0-0", "q-12-0", "p-.5-0"}) {
        EXPECT_FALSE(left_by_dead_owner(garbage, "p-")) << garbage;
    }
    // A name of an older version (no namespace) is judged by the pid, as it was.
    EXPECT_TRUE(left_by_dead_owner("p-" + std::to_string(dead) + "-0", "p-"));

    // The names are the product's, in a parent only this test writes (the sweep takes any).
    const testsupport::HostDir scratch("stale-dirs");
    const fs::path& parent = scratch.path();
    fs::create_directories(parent / here / "x");
    fs::create_directories(parent / elsewhere / "x");
    EXPECT_EQ(microvm::host::remove_dirs_of_dead_owners(parent.string(), "p-"), 1u);
    EXPECT_FALSE(fs::exists(parent / here));
    EXPECT_TRUE(fs::exists(parent / elsewhere));
}

// The attack (red team, 2026-12-04): QEMU owns its VM directory, and one taken over by its guest
// can fill it with a tree deeper than the host's descriptor limit; std::filesystem::remove_all
// held a descriptor per level, failed with EMFILE and left the tree on /run for good. Removal
// (the sweep's, and each VM's own, host/remove_tree.hpp) is by descriptor at any depth, and
// follows no link out of the tree.
TEST(StaleDirs, ATreeDeeperThanTheDescriptorLimitIsRemovedAndNoLinkFollowed) {
    const pid_t dead = dead_pid();
    const testsupport::HostDir scratch("stale-deep");
    const fs::path& parent = scratch.path();
    const std::string name = "p-" + std::to_string(dead) + "." + own_namespace() + "-0";
    fs::create_directories(parent / name);
    fs::create_directories(parent / "kept");
    std::ofstream(parent / "kept" / "file") << "x";
    fs::create_directory_symlink(parent / "kept", parent / name / "link");
    // A limit of 512 descriptors while the tree is removed; 2,000 levels below the directory.
    struct rlimit saved {};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
    int fd = ::open((parent / name).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    for (int i = 0; i < 2000; ++i) {
        ASSERT_EQ(::mkdirat(fd, "d", 0700), 0);
        const int next = ::openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ::close(fd);
        ASSERT_GE(next, 0);
        fd = next;
    }
    ::close(fd);
    struct rlimit low = saved;
    low.rlim_cur = 512;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
    const size_t removed = microvm::host::remove_dirs_of_dead_owners(parent.string(), "p-");
    ::setrlimit(RLIMIT_NOFILE, &saved);
    EXPECT_EQ(removed, 1u);
    EXPECT_FALSE(fs::exists(parent / name)) << "the deep tree stayed";
    EXPECT_TRUE(fs::exists(parent / "kept" / "file")) << "a link out of the tree was followed";
    microvm::host::remove_tree(parent.string());
}

}  // namespace
