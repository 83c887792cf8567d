// A note, in this user's protected runtime directory, of each sandbox cgroup a host process
// makes, so that a later process removes the cgroups of one that was killed (SIGKILL runs no
// destructor). A sweep below the cgroup parent (cgroupfs::sweep_stale) does not find them all:
// the parent is the caller's own cgroup, so a run from another cgroup (another systemd scope on
// v1's memory hierarchy, another service on v2) never looks where a killed one's cgroups lie.
//
// Records are trusted state (host/trusted_state.hpp protects <base>/microvm* by name) and read
// with the rules of boot records; even so, a sweep removes only directories that lie under a
// cgroup mount and are named as the record is, a name whose owner process is gone: what a sweep
// below the parent would remove had it looked there.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace microvm::host {

class CgroupRecord {
  public:
    CgroupRecord() = default;
    // Notes the directories of the cgroup `name` (every hierarchy's), before they are made.
    // Best effort: no note when this user has no protected runtime directory or it cannot be
    // written (the sweep below the parent still runs).
    static CgroupRecord note(const std::string& name, const std::vector<std::string>& dirs);
    CgroupRecord(CgroupRecord&& other) noexcept;
    CgroupRecord& operator=(CgroupRecord&& other) noexcept;
    CgroupRecord(const CgroupRecord&) = delete;
    CgroupRecord& operator=(const CgroupRecord&) = delete;
    // Drops the note: destroy it after the cgroup's directories are gone.
    ~CgroupRecord();
    // Keeps the note for a later sweep: the cgroup could not be removed.
    void keep() { path_.clear(); }

  private:
    std::string path_;
};

// The directory of the records: <protected_runtime_base()>/microvm-cgroups, created (0700)
// when missing. nullopt when there is none, or it is not trusted.
std::optional<std::string> cgroup_record_dir();

// Removes the cgroups recorded under names of prefix whose owner is gone (left_by_dead_owner),
// and their records; returns how many cgroup directories it removed.
size_t sweep_recorded_cgroups(std::string_view prefix);

}  // namespace microvm::host
