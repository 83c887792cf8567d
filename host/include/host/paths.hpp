// Path helpers for building a sandbox's root: lexical checks on policy paths (which must never
// climb with "..") and canonical resolution of host paths.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "microvm/error.hpp"
#include "microvm/path_within.hpp"

namespace microvm::host {

// An absolute path with "//", "/./" and trailing slashes removed. "..", relative paths, empty
// paths and NUL bytes are InvalidInput: a policy path must name one place, not climb out of it.
Expected<std::string> normalize_absolute_path(std::string_view path);

// Containment of normalised paths, the core's (microvm/path_within.hpp).
using microvm::is_within;
using microvm::is_within_any;
using microvm::join_path;

// "/a/b/c" -> {"a", "b", "c"}; "/" -> {}.
std::vector<std::string> path_components(std::string_view absolute_path);

// "/a/b" -> "/a"; "/a" -> "/".
std::string parent_path(std::string_view absolute_path);

// Whether every directory above real_path is searchable by others: a user who owns none of them
// (a sandbox's leased uid on the host) reaches real_path at all.
bool searchable_by_others_above(const std::string& real_path);

// The host path with every symlink resolved, in one lookup (the path of an O_PATH descriptor),
// whatever its depth. InvalidInput when it does not exist.
Expected<std::string> canonical_host_path(const std::string& path);

// path (absolute) with its longest existing prefix resolved (as canonical_host_path) and the rest appended as
// given: the real path a path that does not exist yet will have. A path of PATH_MAX bytes or more
// is returned as it is: no system call takes it.
std::string resolved_path(const std::string& path);

// The path the kernel gives for what fd names (readlink of /proc/self/fd/N): a real path, with
// no symlink; nullopt when it cannot be read.
std::optional<std::string> fd_real_path(int fd);

// The directories of a PATH value, in order; relative entries (which would resolve against the
// caller's working directory) are left out.
std::vector<std::string> path_dirs(std::string_view path_var);

// Where a program the providers run by default name (runsc, firecracker, qemu) is looked for:
// $PATH's directories, then the system's program directories (/usr/local/sbin ... /bin). Trusted
// state protects exactly these (host/src/trusted_state.cpp): a directory searched is a directory
// no sandbox may write.
std::vector<std::string> program_search_dirs();

// Searches dirs for an executable regular file named name (a name without '/'). Empty when none.
std::string find_in_dirs(const std::string& name, const std::vector<std::string>& dirs);

}  // namespace microvm::host
