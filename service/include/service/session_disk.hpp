// A session's work directory as a tmpfs of its own size (`--session-disk-mib`): what a session's
// programs and uploads write counts against its own quota, not against the file system every
// session (and, with the default state directory on /run, the host) shares. One client filled
// the state directory's file system for all before (red team, 2026-12-04).
#pragma once

#include <cstdint>
#include <string>

#include "microvm/error.hpp"

namespace microvm::service {

// A session's disk when the operator names none, where the daemon can mount one. The worst case
// the daemon's sessions hold is --max-sandboxes of these in memory (64: 16 GiB), one client's
// --max-per-client-sandboxes (32: 8 GiB).
inline constexpr uint64_t kDefaultSessionDiskBytes = uint64_t{256} << 20;

// Inodes a session's tmpfs holds per MiB of its size: an empty file costs kernel memory that
// `size=` does not count, so the inodes are bounded with it (256 MiB: 65536 files).
inline constexpr uint64_t kSessionInodesPerMib = 256;

// Mounts a tmpfs of `bytes` (nosuid, nodev) at the empty directory dir, its root mode `mode`.
Expected<void> mount_session_disk(const std::string& dir, uint64_t bytes, mode_t mode);

// Unmounts the session disk at dir (lazily: a sandbox still tearing down keeps its view).
void unmount_session_disk(const std::string& dir);

// Unmounts every mount at or below dir, deepest first: the disks of a previous daemon's sessions,
// which the sweep of its directories would otherwise leave (host::remove_tree never enters a
// mount).
void unmount_everything_below(const std::string& dir);

// Whether this process can mount a session disk: tried once, in a scratch directory made below
// parent and removed.
bool can_mount_session_disks(const std::string& parent);

}  // namespace microvm::service
