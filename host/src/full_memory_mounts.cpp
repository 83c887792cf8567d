#include "host/full_memory_mounts.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "host/paths.hpp"

namespace microvm::host {
namespace {

// File systems whose files are held in RAM (or huge pages) until removed. devtmpfs and rootfs
// are tmpfs or ramfs underneath; hugetlbfs takes from the host's huge page pool.
bool memory_backed(const std::string& fstype) {
    return fstype == "tmpfs" || fstype == "ramfs" || fstype == "devtmpfs" ||
           fstype == "rootfs" || fstype == "hugetlbfs" || fstype == "mqueue";
}

bool has_option(const std::string& options, const std::string& name) {
    std::istringstream in(options);
    for (std::string o; std::getline(in, o, ',');) {
        if (o == name) return true;
    }
    return false;
}

// The sandbox's uid owns nothing on the host: it reaches a mount only through directories
// others may search. (Those it cannot reach are left out: another gVisor execution's bundle
// mounts, below a directory of root's alone, which may be gone by the time this one starts.)
bool reachable_by_others(const std::string& point) {
    std::string dir = point;
    while (dir != "/") {
        const size_t slash = dir.rfind('/');
        dir = slash == 0 ? "/" : dir.substr(0, slash);
        struct stat st;
        if (::lstat(dir.c_str(), &st) != 0 || !(st.st_mode & S_IXOTH)) return false;
    }
    return true;
}

bool within_any(const std::string& path, const std::vector<std::string>& dirs) {
    return std::any_of(dirs.begin(), dirs.end(), [&](const std::string& d) { return is_within(path, d); });
}

}  // namespace

std::vector<Mount> full_memory_mounts(const std::vector<MountEntry>& table,
                                      const std::vector<Mount>& planned, uint64_t size_bytes) {
    // Only the topmost mount at each point is reachable: the last one mounted there.
    std::map<std::string, const MountEntry*> top;
    for (const MountEntry& m : table) top[m.mount_point] = &m;
    std::vector<const MountEntry*> mounts;
    for (const auto& [point, m] : top) mounts.push_back(m);
    std::stable_sort(mounts.begin(), mounts.end(), [](const MountEntry* a, const MountEntry* b) {
        return a->mount_point.size() < b->mount_point.size();
    });

    std::vector<std::string> hidden;  // below these, the sandbox sees a mount of its own
    for (const Mount& p : planned) hidden.push_back(p.target);
    std::vector<std::string> read_only;
    std::vector<Mount> out;
    for (const MountEntry* m : mounts) {
        if (!memory_backed(m->fstype) || has_option(m->mount_options, "ro") ||
            has_option(m->super_options, "ro") || within_any(m->mount_point, hidden)) {
            continue;
        }
        // Out of reach: mounted over at a parent since (its path leads elsewhere now), or below
        // a directory others may not search.
        struct stat st;
        if (::lstat(m->mount_point.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
            std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev)) != m->device ||
            !reachable_by_others(m->mount_point)) {
            continue;
        }
        if (st.st_mode & S_IWOTH) {
            const bool mqueue = m->fstype == "mqueue";
            Mount own{mqueue ? Mount::Kind::Mqueue : Mount::Kind::Tmpfs, mqueue ? "mqueue" : "tmpfs",
                      m->mount_point};
            own.writable = true;
            own.size_bytes = size_bytes;
            out.push_back(std::move(own));
            hidden.push_back(m->mount_point);
        } else if (!within_any(m->mount_point, read_only)) {
            Mount ro{Mount::Kind::HostReadOnly, m->mount_point, m->mount_point};
            ro.identity = {st.st_dev, st.st_ino};
            out.push_back(std::move(ro));
            read_only.push_back(m->mount_point);
        }
    }
    return out;
}

}  // namespace microvm::host
