#include "service/session_disk.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <vector>

#include "host/mountinfo.hpp"
#include "host/paths.hpp"
#include "host/sys_error.hpp"

namespace microvm::service {

Expected<void> mount_session_disk(const std::string& dir, uint64_t bytes, mode_t mode) {
    const uint64_t mib = std::max<uint64_t>(1, bytes >> 20);
    char options[128];
    std::snprintf(options, sizeof options, "size=%llu,nr_inodes=%llu,mode=%o",
                  static_cast<unsigned long long>(bytes),
                  static_cast<unsigned long long>(std::max<uint64_t>(1024, mib * kSessionInodesPerMib)),
                  static_cast<unsigned>(mode));
    if (::mount("microvmd-session", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options) != 0)
        return host::sys_failure("mount a tmpfs of " + std::to_string(bytes) + " bytes at " + dir, errno);
    return {};
}

void unmount_session_disk(const std::string& dir) { ::umount2(dir.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW); }

void unmount_everything_below(const std::string& dir) {
    const std::string root = host::resolved_path(dir);
    if (root.empty() || root == "/") return;  // never the whole tree, whatever dir was given
    std::vector<std::string> below;
    for (const host::MountEntry& m : host::read_mountinfo()) {
        if (host::is_within(m.mount_point, root)) below.push_back(m.mount_point);
    }
    // Deepest first; a path mounted over twice is unmounted as often as it appears.
    std::sort(below.begin(), below.end(), [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    for (const std::string& m : below) ::umount2(m.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
}

bool can_mount_session_disks(const std::string& parent) {
    std::string probe = parent + "/.disk-probe-XXXXXX";
    if (!::mkdtemp(probe.data())) return false;
    const bool mounted = mount_session_disk(probe, 1 << 20, 0700).has_value();
    if (mounted) unmount_session_disk(probe);
    ::rmdir(probe.c_str());
    return mounted;
}

}  // namespace microvm::service
