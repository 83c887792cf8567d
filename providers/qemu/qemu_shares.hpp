// The directories a policy shares with the VM (9p), checked and then handed to QEMU as the very
// objects that were checked. QEMU's 9p server opens a share's root once, at start-up; given a
// path it would open whatever is there by then, following symlinks, so someone on the host who
// can write a share's parent directory (or a guest that planted a symlink through an earlier rw
// share) could swap the checked directory for a symlink to /proc, / or the host's state between
// the check and QEMU's start, and QEMU would export that (red team, 2026-12-03). So QEMU never
// gets a policy path: the host opens each checked directory (host::open_checked_source: no
// symlink followed, same device and inode as checked), QEMU inherits that descriptor
// (kShareFdBase + n, qemu_command.hpp) and opens /proc/self/fd/<n>, a magic link to exactly that
// directory (its own /proc/self/fd is open to it whatever its uid and dumpability).
#pragma once

#include <string>
#include <vector>

#include "host/policy_source.hpp"
#include "host/unique_fd.hpp"
#include "microvm/policy.hpp"
#include "microvm/provider.hpp"
#include "qemu/qemu_command.hpp"

namespace microvm::qemu {

struct CheckedShare {
    std::string path;  // as the policy names it: where the guest mounts it
    host::CheckedSource source;
    bool writable = false;
};

// Every directory the policy shares, through the checks of every provider's bind sources
// (host/policy_source.hpp), the trusted-state rule for writable ones, QEMU's uid's access, and
// no read-only share inside a writable one. Each refusal is added to problems (setting
// "fs_policy"); the shares that passed are returned. The provider's check refuses up front with
// these problems; the backend checks again when it opens the shares, so that what it opens is
// what passed, not what passed at the request's check.
std::vector<CheckedShare> check_shares(const FileSystemPolicy& fs, std::vector<Unsupported>& problems);

// The shares QEMU exports, parents before children (a share inside another is mounted on top of
// it), each with the descriptor of its checked directory (ShareSpec::fd) held in fds. SetupError
// "bind source '<path>' was replaced after it was checked" when a directory is no longer the one
// checked.
Expected<std::vector<ShareSpec>> open_shares(const std::vector<CheckedShare>& checked,
                                             std::vector<host::UniqueFd>& fds);

}  // namespace microvm::qemu
