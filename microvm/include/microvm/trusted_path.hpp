// Paths the host acts on with its own identity because a settings file named them (the settings
// file itself, executables it runs, directories it keeps state in). A sandbox may have written
// anywhere it was given write access, so such a path is trusted only for where it lies, by the
// rule of OpenSSH's StrictModes: the object at its real location, and every directory above it,
// is owned by root or by the effective user and is writable by neither group nor others (a
// sticky world-writable directory such as /tmp does not qualify either). Nothing on a FUSE file
// system is trusted: its server reports whatever owner and mode it likes, and a user's mount
// with `user_allow_other` is visible to root.
#pragma once

#include <sys/stat.h>

#include <string>
#include <string_view>

#include "microvm/error.hpp"

namespace microvm {

// Why an object of this status (named `where` in the message) is not trusted, or empty: the
// rule above for one object, its owner root or the effective user, writable by neither group
// nor others.
std::string ownership_fault(const struct stat& st, const std::string& where);

// The real path (every symlink resolved) of `path` when it is trusted. `what` names the object
// in messages ("settings file", "runsc"). InvalidConfig when it does not exist; SetupError,
// naming the path and the fault, when it is not trusted.
Expected<std::string> trusted_real_path(std::string_view path, std::string_view what);

// trusted_real_path for an executable: also an absolute path naming a regular file with an
// execute bit.
Expected<std::string> trusted_executable(std::string_view path, std::string_view what);

// trusted_real_path, except that a sticky directory of root's or this user's (/tmp) may be
// writable by others when the path's entry in it is a directory: its sticky bit keeps them from
// renaming or removing that entry, which must be root's or this user's as every other on the
// way. For what a run names in its environment or arguments ($MICROVM_GUEST, microvmd's
// --state-dir), which tests and fresh clones keep below /tmp; a settings file's paths keep the
// stricter rule. Still refused: a real path any of whose directories another user owns (a
// user's $XDG_RUNTIME_DIR or home, where that user could swap what was checked for something
// else). Like trusted_real_path it judges where the path leads: a symlink on the path as given
// (another user's, repointed at will) is followed, so the caller uses the returned path, never
// the given one, and refuses symlinks first where the given path matters (a directory it is
// about to make: Service::create).
Expected<std::string> owned_real_path(std::string_view path, std::string_view what);

// owned_real_path for an executable (as trusted_executable).
Expected<std::string> owned_executable(std::string_view path, std::string_view what);

// A program the host found by searching (microvm/built_programs.hpp: beside its executable, in
// the sibling folder, in the build tree it was built in), not one anybody named: owned_real_path
// (owned_executable when executable) of where it leads, and also every entry on the path as
// given, since nobody chose that path: a build tree removed from below /tmp after an install,
// or a sibling folder beside a binary copied to /tmp/x/ (/tmp/guest/), is a place any local
// user can make, and there another user's file, or their symlink to any executable of root's,
// was the guest runner or the gvisor launcher of root's runs (red team, 2026-12-05). Each entry
// met while resolving it, as the kernel does (directories, symlinks, and the entries of every
// symlink's target), must be root's or this user's, and a directory writable by others only
// sticky, holding a directory.
Expected<std::string> searched_real_path(std::string_view path, std::string_view what, bool executable);

}  // namespace microvm
