// Under fs Full the sandbox keeps the host's tree, and with it the host's memory-backed file
// systems (tmpfs, ramfs, ...): a file written there is host RAM that stays after the run and
// that no limit counts, adding up run after run (red team, 2026-12-06: three runs left 180 MiB
// in a tmpfs of mode 1777). For each such mount the sandbox sees and could write (not
// read-only), the rule is:
//   - its root others-writable (the sandbox's leased uid owns nothing on the host, so that is
//     how it could write there): a private instance over it, a tmpfs of size_bytes (a mqueue of
//     the sandbox's own IPC namespace for a mqueue), charged to the run and gone with it, and
//     noexec when the host's mount is (a host that runs nothing from its /tmp keeps that rule);
//   - otherwise: that mount made read-only in the sandbox (others-writable directories below
//     its root, /run/lock inside /run, cannot be found without walking the whole tree; the
//     sandbox's uid could write nothing else there anyway). Each memory mount below it gets its
//     own verdict, and a disk mount below keeps its own: a memory root does not make the host's
//     disks read-only.
// Left out: mounts at or below a target already planned (the private /dev/shm, /proc), those
// hidden by a private instance or by another mount over them, those below a directory others
// may not search (out of the sandbox's reach), and mounts on a file. Not seen as memory: an
// overlay whose upper layer is a tmpfs, a disk file system on zram, brd or a loop device backed
// by a tmpfs file. The table is read when the sandbox is planned: a host mount made between
// then and the sandbox's own mount namespace is missed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "host/mountinfo.hpp"
#include "host/rootfs.hpp"
#include "microvm/error.hpp"

namespace microvm::host {

// Parents before children. table: this process's mounts (read_mountinfo), which the sandbox's
// mount namespace copies.
std::vector<Mount> full_memory_mounts(const std::vector<MountEntry>& table,
                                      const std::vector<Mount>& planned, uint64_t size_bytes);

// InvalidInput when the program lies in one of the private instances among mounts: inside, that
// is an empty file system of the sandbox's own (fs full on a host whose /tmp is a tmpfs, say).
Expected<void> check_program_outside_private_mounts(const std::string& program, const std::vector<Mount>& mounts);

}  // namespace microvm::host
