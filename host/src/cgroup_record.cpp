#include "host/cgroup_record.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "host/boot_cache.hpp"
#include "host/cgroup_fs.hpp"
#include "host/paths.hpp"
#include "host/stale_dirs.hpp"
#include "host/unique_fd.hpp"
#include "host/dir_stream.hpp"

namespace microvm::host {

namespace {

// At most four hierarchies' directories, each shorter than PATH_MAX.
constexpr size_t kMaxRecordBytes = 4 * 4096;

// Whether a recorded directory is one a sweep may remove: a normal absolute path below a cgroup
// mount, named `name` (what sweep_stale would remove below its parent).
bool removable(const std::string& dir, std::string_view name,
               const std::vector<cgroupfs::CgroupMountInfo>& mounts) {
    const auto normal = normalize_absolute_path(dir);
    if (!normal || *normal != dir) return false;
    if (dir.substr(dir.rfind('/') + 1) != name) return false;
    for (const auto& m : mounts) {
        if (dir.size() > m.mountpoint.size() && is_within(dir, m.mountpoint)) return true;
    }
    return false;
}

}  // namespace

std::optional<std::string> cgroup_record_dir() {
    return runtime_state_dir("microvm-cgroups", "cgroup record directory");
}

CgroupRecord CgroupRecord::note(const std::string& name, const std::vector<std::string>& dirs) {
    CgroupRecord record;
    const auto dir = cgroup_record_dir();
    if (!dir) return record;
    std::string text;
    for (const std::string& d : dirs) {
        if (!d.empty()) text += d + "\n";
    }
    const std::string path = *dir + "/" + name;
    // A note of this name (a dead owner's of the same pid and serial, which random serials
    // make unlikely) is left for the sweep: replaced, the dead owner's cgroups in another
    // parent would be forgotten for good.
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd.valid()) return record;
    if (!write_all(fd.get(), text)) {
        ::unlink(path.c_str());
        return record;
    }
    record.path_ = path;
    return record;
}

CgroupRecord::CgroupRecord(CgroupRecord&& other) noexcept : path_(std::exchange(other.path_, {})) {}

CgroupRecord& CgroupRecord::operator=(CgroupRecord&& other) noexcept {
    if (this != &other) {
        if (!path_.empty()) ::unlink(path_.c_str());
        path_ = std::exchange(other.path_, {});
    }
    return *this;
}

CgroupRecord::~CgroupRecord() {
    if (!path_.empty()) ::unlink(path_.c_str());
}

size_t sweep_recorded_cgroups(std::string_view prefix) {
    const auto dir = cgroup_record_dir();
    if (!dir) return 0;
    std::vector<std::string> names;
    for (std::string& name : entry_names(*dir)) {
        if (left_by_dead_owner(name, prefix)) names.push_back(std::move(name));
    }
    if (names.empty()) return 0;
    const auto mounts = cgroupfs::cgroup_mounts();
    size_t removed = 0;
    for (const std::string& name : names) {
        // Judged again, now: the pid may be a new process's by now (serials start again at 0),
        // whose note has the same name (red team, 2026-12-06).
        if (!left_by_dead_owner(name, prefix)) continue;
        const std::string path = *dir + "/" + name;
        const auto text = read_trusted_file(path, kMaxRecordBytes);
        if (!text) continue;  // not ours to judge: left as it is
        bool all_gone = true;
        for (size_t at = 0, end; at < text->size(); at = end + 1) {
            end = std::min(text->find('\n', at), text->size());
            const std::string cgroup = text->substr(at, end - at);
            if (cgroup.empty()) continue;
            if (!removable(cgroup, name, mounts)) {
                all_gone = false;
                continue;
            }
            if (!cgroupfs::exists(cgroup)) continue;
            // Two tries, not a second's: one that cannot go (a child cgroup of someone else's
            // below it) is tried again by every later sweep, which must stay cheap.
            if (cgroupfs::remove_cgroup(cgroup, /*attempts=*/2)) {
                ++removed;
            } else {
                all_gone = false;
            }
        }
        if (all_gone) ::unlink(path.c_str());
    }
    return removed;
}

}  // namespace microvm::host
