#include "service/session_disk.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

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
    host::unmount_below(root);
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
