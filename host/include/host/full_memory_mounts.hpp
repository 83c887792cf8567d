// Under fs Full the sandbox keeps the host's tree, and with it the host's memory-backed file
// systems (tmpfs, ramfs, ...): a file written there is host RAM that stays after the run and
// that no limit counts, adding up run after run (red team, 2026-12-06: three runs left 180 MiB
// in a tmpfs of mode 1777). For each such mount the sandbox sees and could write (not
// read-only), the rule is:
//   - its root others-writable (the sandbox's leased uid owns nothing on the host, so that is
//     how it could write there): a private instance over it, a tmpfs of size_bytes (a mqueue of
//     the sandbox's own IPC namespace for a mqueue), charged to the run and gone with it;
//   - otherwise: made read-only in the sandbox, with every mount below it (but those private
//     ones). Others-writable directories below a mount's root (/run/lock inside /run) cannot be
//     found without walking the whole tree; read-only closes them all, and the sandbox's uid
//     could write nothing else there anyway.
// Left out: mounts at or below a target already planned (the private /dev/shm, /proc), those
// hidden by a private instance or by another mount over them, and those below a directory
// others may not search (out of the sandbox's reach).
#pragma once

#include <cstdint>
#include <vector>

#include "host/mountinfo.hpp"
#include "host/rootfs.hpp"

namespace microvm::host {

// Parents before children. table: this process's mounts (read_mountinfo), which the sandbox's
// mount namespace copies.
std::vector<Mount> full_memory_mounts(const std::vector<MountEntry>& table,
                                      const std::vector<Mount>& planned, uint64_t size_bytes);

}  // namespace microvm::host
