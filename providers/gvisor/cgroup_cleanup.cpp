#include "gvisor/cgroup_cleanup.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "process/cgroup_fs.hpp"
#include "process/paths.hpp"

namespace microvm::gvisor {
namespace {

namespace cgfs = process::cgroupfs;

bool has_word(const std::string& list, const std::string& word) {
    std::istringstream in(list);
    for (std::string item; std::getline(in, item, ',');) {
        if (item == word) return true;
    }
    return false;
}

std::string directory_of(const cgfs::CgroupMountInfo& m, std::string path) {
    if (m.root != "/" && process::is_within(path, m.root)) path = path.substr(m.root.size());
    if (path.empty() || path == "/") return m.mountpoint;
    return m.mountpoint + (path.front() == '/' ? "" : "/") + path;
}

}  // namespace

std::vector<std::string> cgroup_parent_dirs(const std::string& parent) {
    const std::vector<cgfs::CgroupMountInfo> mounts = cgfs::cgroup_mounts();
    std::vector<std::string> dirs;
    std::ifstream in("/proc/self/cgroup");
    for (std::string line; std::getline(in, line);) {
        // hierarchy-id:controller-list:path
        size_t a = line.find(':');
        size_t b = a == std::string::npos ? a : line.find(':', a + 1);
        if (b == std::string::npos) continue;
        const std::string id = line.substr(0, a), list = line.substr(a + 1, b - a - 1);
        const std::string path = parent.empty() ? line.substr(b + 1) : parent;
        const bool v2 = id == "0" && list.empty();
        const std::string first = list.substr(0, list.find(','));
        for (const cgfs::CgroupMountInfo& m : mounts) {
            bool match = v2 ? m.fstype == "cgroup2"
                            : m.fstype == "cgroup" && !first.empty() && has_word(m.options, first);
            if (!match) continue;
            std::string dir = directory_of(m, path);
            if (std::find(dirs.begin(), dirs.end(), dir) == dirs.end()) dirs.push_back(dir);
            break;
        }
    }
    return dirs;
}

void remove_cgroup_everywhere(const std::vector<std::string>& parent_dirs, const std::string& name) {
    for (const std::string& dir : parent_dirs) {
        const std::string cgroup = dir + "/" + name;
        if (cgfs::exists(cgroup)) cgfs::remove_cgroup(cgroup);
    }
}

size_t sweep_stale_cgroups(const std::vector<std::string>& parent_dirs, std::string_view prefix) {
    size_t removed = 0;
    for (const std::string& dir : parent_dirs) removed += cgfs::sweep_stale(dir, prefix);
    return removed;
}

}  // namespace microvm::gvisor
