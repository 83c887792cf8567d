// The host-side clones of a sandbox's binds: what the planner checked is what gets bound.
#include "process/bind_trees.hpp"
#include "host/checked_tree.hpp"

#include <gtest/gtest.h>
#include <linux/mount.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "process/child_plan_builder.hpp"
#include "host/rootfs.hpp"
#include "support/expectations.hpp"

namespace microvm::process {
namespace {

namespace fs = std::filesystem;
using host::plan_rootfs;
using host::RootfsPlan;
using host::RootfsRequest;

class BindTrees : public ::testing::Test {
  protected:
    void SetUp() override {
        MICROVM_REQUIRE("root", host::can_clone_trees(), "cloning mount trees needs root");
        char tmpl[] = "/tmp/bind-trees-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override {
        std::error_code ec;
        if (!dir_.empty()) fs::remove_all(dir_, ec);
    }
    Expected<std::vector<host::UniqueFd>> clone_for(const RootfsPlan& plan) {
        builder_.set_rootfs(plan, "/tmp");
        return clone_bind_trees(builder_, idmaps_);
    }

    std::string dir_;
    ChildPlanBuilder builder_;
    IdmapNamespaces idmaps_{65534, 65534};
};

// The probe clones nothing, so it must answer exactly as a real clone would: yes with
// CAP_SYS_ADMIN over the mount namespace, no without (checked in a child that drops it).
TEST(BindTreesProbe, AnswersAsACloneWould) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "cloning mount trees needs root");
    auto can_clone = [] {
        int fd = static_cast<int>(
            ::syscall(SYS_open_tree, AT_FDCWD, "/", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
        if (fd < 0) return false;
        ::close(fd);
        return true;
    };
    ASSERT_TRUE(can_clone());
    EXPECT_TRUE(host::can_clone_trees());
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
        __user_cap_data_struct data[2]{};
        if (::syscall(SYS_capget, &header, data) != 0) ::_exit(10);
        data[0].effective &= ~(1u << CAP_SYS_ADMIN);
        if (::syscall(SYS_capset, &header, data) != 0) ::_exit(11);
        if (can_clone()) ::_exit(12);  // the premise: without the right no clone is allowed
        ::_exit(host::can_clone_trees() ? 1 : 0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "1: the probe said yes without CAP_SYS_ADMIN";
}

TEST_F(BindTrees, EveryBindGetsATree) {
    RootfsRequest request;
    request.policy = FileSystemPolicy::read_write({dir_}, {"/usr"});
    auto plan = plan_rootfs(request);
    ASSERT_TRUE(plan) << plan.error().message;
    auto trees = clone_for(*plan);
    ASSERT_TRUE(trees) << trees.error().message;
    size_t binds = 0;
    for (size_t i = 0; i < builder_.plan().mount_count; ++i) {
        const ChildMount& m = builder_.plan().mounts[i];
        if (m.kind != ChildMount::kBind) continue;
        ++binds;
        EXPECT_GE(m.tree_fd, 0) << m.target;
    }
    EXPECT_EQ(trees->size(), binds);
}

// The race the identity closes: the directory the planner checked is moved away and another put
// in its place (by a sandbox with write access to the parent, say) before the bind is made.
TEST_F(BindTrees, ADirectoryReplacedAfterTheCheckIsNotBound) {
    const std::string victim = dir_ + "/work";
    fs::create_directory(victim);
    RootfsRequest request;
    request.policy = FileSystemPolicy::read_write({victim});
    auto plan = plan_rootfs(request);
    ASSERT_TRUE(plan) << plan.error().message;
    fs::rename(victim, dir_ + "/moved");
    fs::create_directory(victim);
    auto trees = clone_for(*plan);
    ASSERT_FALSE(trees);
    EXPECT_EQ(trees.error().kind, Failure::Kind::SetupError);
    EXPECT_NE(trees.error().message.find("replaced after it was checked"), std::string::npos)
        << trees.error().message;
}

TEST_F(BindTrees, ASymlinkSwappedInAfterTheCheckIsNotFollowed) {
    const std::string victim = dir_ + "/work";
    fs::create_directory(victim);
    RootfsRequest request;
    request.policy = FileSystemPolicy::read_only({victim});
    auto plan = plan_rootfs(request);
    ASSERT_TRUE(plan) << plan.error().message;
    fs::remove(victim);
    fs::create_directory_symlink("/proc", victim);
    auto trees = clone_for(*plan);
    ASSERT_FALSE(trees);
    EXPECT_EQ(trees.error().kind, Failure::Kind::SetupError);
}

}  // namespace
}  // namespace microvm::process
