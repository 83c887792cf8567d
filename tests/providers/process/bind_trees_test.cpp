// The host-side clones of a sandbox's binds: what the planner checked is what gets bound.
#include "process/bind_trees.hpp"
#include "host/checked_tree.hpp"

#include <gtest/gtest.h>
#include <linux/mount.h>
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
