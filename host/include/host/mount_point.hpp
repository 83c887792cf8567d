// A mount point opened without following any symlink: each component from "/" is opened as a
// directory with O_NOFOLLOW (a missing one is made, 0755), so a symlink anywhere on the way is
// refused; the mount then goes onto the opened directory (mount_target), never onto wherever a
// path leads when the mount call resolves it. The guest agent mounts a VM's shares so: a nested
// share's mount point lies inside an outer share, a live host directory that another writer may
// change while the VM boots, and a symlink swapped in there led the mount, and the victim's
// program, onto the guest's /bin (red team, 2026-12-06).
#pragma once

#include <string>

#include "host/unique_fd.hpp"
#include "microvm/error.hpp"

namespace microvm::host {

// InvalidInput for a path that is not absolute or holds a ".." component ("." and "//" are
// dropped, as in every policy path: normalize_absolute_path); SetupError
// naming the component that is a symlink, not a directory, or cannot be made.
Expected<UniqueFd> open_mount_point(const std::string& path);

// The name through which mount(2) reaches the directory fd names: /proc/self/fd/N (procfs
// mounted). The magic link resolves to that very directory, whatever its path is now.
std::string mount_target(const UniqueFd& fd);

}  // namespace microvm::host
