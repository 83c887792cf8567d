// A run's own cgroup v2 in the guest (VM mode): its memory.max is the execution's memory limit
// (the guest kernel's OOM killer ends the program, memory.events counts it), memory.peak is the
// peak the program's processes reached, and cgroup.kill ends every process of the run, even one
// that left its process group.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "host/unique_fd.hpp"

namespace microvm::guest {

class RunCgroup {
  public:
    // Under root (the guest's cgroup2 mount, memory controller enabled); memory_max 0: no limit
    // yet. Error: what failed.
    static std::unique_ptr<RunCgroup> create(const std::string& root, uint64_t memory_max,
                                             std::string& error);
    // The run's memory limit (the OOM killer then ends all its processes); empty or why not.
    std::string limit_memory(uint64_t memory_max) const;
    RunCgroup(const RunCgroup&) = delete;
    RunCgroup& operator=(const RunCgroup&) = delete;
    ~RunCgroup();

    // Written "0" by the child before anything else: moves it in.
    int procs_fd() const { return procs_.get(); }
    uint64_t peak_bytes() const;
    bool oom_killed() const;
    // CPU time of every process the run had, orphans included (cpu.stat's user_usec and
    // system_usec); false when the kernel gives none. wait4's figures miss what left the tree.
    bool cpu_time_us(uint64_t& user, uint64_t& system) const;
    void kill_all() const;

  private:
    RunCgroup(std::string dir, host::UniqueFd procs) : dir_(std::move(dir)), procs_(std::move(procs)) {}
    std::string dir_;
    host::UniqueFd procs_;
};

// The VM's cgroup2 root ("" outside VM mode: no per-run cgroups).
const std::string& vm_cgroup_root();
void set_vm_cgroup_root(std::string root);

// VM mode: caps the guest kernel's task count so the program may have at most max_processes
// (the VM serves one execution); `started` of them exist already (a run forked ahead). Empty on
// success, else why not.
std::string limit_guest_tasks(uint64_t max_processes, uint64_t started = 0);

}  // namespace microvm::guest
