// Landlock rules for a granted directory tree that leave out the files this process keeps
// private inside it (host/private_files.hpp). Landlock only grants, and a grant covers all below
// it; so the directories on the way to a kept file are granted as lists of names only, and every
// other entry of them as the tree is granted. A program whose checks were taken over (the wasm
// engine's, by its module) then still cannot open a daemon's token that lies in a directory the
// policy grants (/etc, the default read-only set) (red team, 2026-12-07).
#pragma once

#include <string>
#include <vector>

#include "host/landlock.hpp"
#include "host/unique_fd.hpp"
#include "microvm/error.hpp"

namespace microvm::host {

struct PrivateAwareRules {
    std::vector<landlock::Rule> rules;
    std::vector<UniqueFd> held;  // the descriptors the rules are on, each opened without following a link
};

// At most this many rules in one call (entries beside the kept files); more is a setup error.
// (Each holds a descriptor, so a low RLIMIT_NOFILE refuses sooner, as safely.)
inline constexpr size_t kMaxPrivateAwareRules = 16384;

// The rules granting what rules grant (by descriptor, or by path, opened as restrict_self opens
// it: one that does not exist is dropped), leaving out every path of kept (real paths, in
// covered_by's sense: a kept file's rotated PATH.N too) wherever it appears strictly inside a
// granted tree; a kept path a tree lies inside (a session's work directory in the daemon's state
// directory, granted as such by the host's descriptor) splits nothing. A rule on a file that is
// kept is dropped, and so is a rule by path (judged by nobody) on a directory at or inside a kept
// path. With nothing kept, rules as they are.
// A directory on the way to a kept path is list-only: nothing can be made or read in it directly,
// only in its other entries as they were when the rules were made. Symlinks get no rule (Landlock
// judges what they lead to). Kept paths are judged where they lie in their file systems
// (host/kept_places.hpp), so every mount that shows one is covered, and so is a tree granted at
// such a mount. The libraries and certificates a fetching program reads are granted by path: a
// TLS key kept in /etc/pki/tls/private was read through them (red team, 2026-12-07).
// SetupError when the mount table cannot be read, or an entry cannot be opened or is one too
// many. Not covered: another hard link to a kept file elsewhere in the tree; file systems that
// show another's files under a device of their own (overlay, FUSE); mounts made after the rules.
Expected<PrivateAwareRules> rules_keeping_private(const std::vector<landlock::Rule>& rules,
                                                  const std::vector<std::string>& kept);

}  // namespace microvm::host
