#include "host/full_memory_mounts.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <map>

#include "host/paths.hpp"

namespace microvm::host {
namespace {

// File systems whose files are held in RAM (or huge pages) until removed. devtmpfs and rootfs
// are tmpfs or ramfs underneath; hugetlbfs takes from the host's huge page pool.
bool memory_backed(const std::string& fstype) {
    return fstype == "tmpfs" || fstype == "ramfs" || fstype == "devtmpfs" ||
           fstype == "rootfs" || fstype == "hugetlbfs" || fstype == "mqueue";
}

std::string device_of(const struct stat& st) {
    return std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
}

}  // namespace

std::vector<Mount> full_memory_mounts(const std::vector<MountEntry>& table,
                                      const std::vector<Mount>& planned, uint64_t size_bytes) {
    // What the sandbox reaches at each point: the mount whose device its path leads to now. (The
    // table's order does not say which of several at one point is on top: since Linux 6.8 it is
    // by mount id, and a mount moved over a newer one is listed first.) A point mounted over at
    // a parent since leads elsewhere and matches none.
    std::map<std::string, std::vector<const MountEntry*>> at;
    for (const MountEntry& m : table) at[m.mount_point].push_back(&m);
    std::vector<std::pair<const MountEntry*, struct stat>> mounts;
    for (const auto& [point, entries] : at) {
        struct stat st;
        if (::lstat(point.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;  // gone, or a file
        for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
            if ((*it)->device == device_of(st)) {
                mounts.emplace_back(*it, st);
                break;
            }
        }
    }
    std::stable_sort(mounts.begin(), mounts.end(), [](const auto& a, const auto& b) {
        return a.first->mount_point.size() < b.first->mount_point.size();
    });

    std::vector<std::string> hidden;  // below these, the sandbox sees a mount of its own
    for (const Mount& p : planned) hidden.push_back(p.target);
    std::vector<Mount> out;
    for (const auto& [m, st] : mounts) {
        if (!memory_backed(m->fstype) || mount_option(m->mount_options, "ro") ||
            mount_option(m->super_options, "ro") || is_within_any(m->mount_point, hidden) ||
            !searchable_by_others_above(m->mount_point)) {
            continue;
        }
        if (st.st_mode & S_IWOTH) {
            const bool mqueue = m->fstype == "mqueue";
            Mount own{mqueue ? Mount::Kind::Mqueue : Mount::Kind::Tmpfs, mqueue ? "mqueue" : "tmpfs",
                      m->mount_point};
            own.writable = true;
            own.size_bytes = size_bytes;
            own.noexec = mount_option(m->mount_options, "noexec").has_value();  // the host's hardening stays
            out.push_back(std::move(own));
            hidden.push_back(m->mount_point);
        } else {
            // This mount alone: each memory mount below gets its own verdict, and a disk mount
            // below keeps its own (a memory root must not make the host's disks read-only).
            Mount ro{Mount::Kind::HostReadOnly, m->mount_point, m->mount_point};
            ro.identity = {st.st_dev, st.st_ino};
            out.push_back(std::move(ro));
        }
    }
    return out;
}

Expected<void> check_program_outside_private_mounts(const std::string& program, const std::vector<Mount>& mounts) {
    const std::string real = resolved_path(program);
    for (const Mount& m : mounts) {
        if ((m.kind == Mount::Kind::Tmpfs || m.kind == Mount::Kind::Mqueue) && is_within(real, m.target)) {
            return fail(Failure::Kind::InvalidInput,
                        "program '" + program + "' lies in " + m.target + ", which fs full gives the sandbox "
                        "an empty instance of its own (a memory file system of the host's that the "
                        "sandbox could write, whose files would outlive the run): the program is not "
                        "there inside; put it on another file system");
        }
    }
    return Ok{};
}

}  // namespace microvm::host
