// Host side: turns a root file system plan and a program into the plain-data ChildPlan the init
// executes, owning every string and array the plan points into.
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "process/child_plan.hpp"
#include "host/rootfs.hpp"
#include "process/seccomp.hpp"

namespace microvm::process {

class ChildPlanBuilder {
  public:
    ChildPlanBuilder() = default;
    ChildPlanBuilder(const ChildPlanBuilder&) = delete;
    ChildPlanBuilder& operator=(const ChildPlanBuilder&) = delete;

    void set_rootfs(const host::RootfsPlan& rootfs, const std::string& attach_dir);
    void set_program(const std::string& exec_path, const std::vector<std::string>& argv,
                     const std::vector<std::string>& env);
    void set_rlimits(std::vector<ChildRlimit> rlimits);
    void set_seccomp(const SeccompFilter& filter);  // must outlive the builder
    // The host-cloned tree of plan().mounts[index] (a bind); the descriptor stays the caller's.
    void set_tree(size_t index, int tree_fd) { mounts_.at(index).tree_fd = tree_fd; }

    // Valid while the builder lives; fill in fds, ids and network before cloning.
    ChildPlan& plan() { return plan_; }

  private:
    const char* keep(std::string s);
    ChildMount to_child(const host::Mount& m);

    std::deque<std::string> strings_;  // stable addresses
    std::vector<ChildMount> mounts_;
    std::vector<const char*> symlink_paths_, symlink_targets_;
    std::vector<char*> argv_, envp_;
    std::vector<ChildRlimit> rlimits_;
    sock_fprog seccomp_existence_{}, seccomp_arguments_{};
    ChildPlan plan_;
};

}  // namespace microvm::process
