// Cgroup directories as tests see them, in every mounted hierarchy (v1's several or v2's one):
// those a provider named after a prefix, and a cgroup parent a test sets up and always removes.
#pragma once

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "host/cgroup_fs.hpp"

namespace testsupport {

// Every cgroup directory, up to four levels below a hierarchy's root, whose name starts with prefix.
inline std::vector<std::string> cgroups_named(const std::string& prefix) {
    namespace fs = std::filesystem;
    std::vector<std::string> found;
    for (const auto& m : microvm::host::cgroupfs::cgroup_mounts()) {
        std::error_code ec;
        for (auto it = fs::recursive_directory_iterator(m.mountpoint, ec); it != fs::recursive_directory_iterator();
             it.increment(ec)) {
            if (it.depth() > 3) it.disable_recursion_pending();
            if (it->path().filename().string().starts_with(prefix)) found.push_back(it->path());
        }
    }
    return found;
}

// A cgroup parent (a path from each hierarchy's root, as the cgroup_parent setting takes it),
// removed with whatever a run left in it from every hierarchy on destruction, whatever the test's
// outcome.
struct ScopedCgroupParent {
    std::string name;
    explicit ScopedCgroupParent(std::string parent) : name(std::move(parent)) {}
    ScopedCgroupParent(const ScopedCgroupParent&) = delete;
    ScopedCgroupParent& operator=(const ScopedCgroupParent&) = delete;
    ~ScopedCgroupParent() { (void)remove(); }

    // Where its CPU quota is set in the hierarchy of that version (v1: the one with the cpu
    // controller); empty when there is none.
    std::string cpu_dir(int version) const {
        std::string dir;
        for (const auto& m : microvm::host::cgroupfs::cgroup_mounts()) {
            const bool v2 = m.fstype == "cgroup2";
            if (v2 != (version == 2)) continue;
            if (v2 || ("," + m.options + ",").find(",cpu,") != std::string::npos) dir = m.mountpoint + "/" + name;
        }
        return dir;
    }

    // Removes it from every hierarchy; false when one still holds a cgroup that cannot go.
    bool remove() const {
        bool all = true;
        for (const auto& m : microvm::host::cgroupfs::cgroup_mounts()) {
            const std::string dir = m.mountpoint + "/" + name;
            if (std::filesystem::exists(dir) && !microvm::host::cgroupfs::remove_cgroup(dir)) all = false;
        }
        return all;
    }
};

}  // namespace testsupport
