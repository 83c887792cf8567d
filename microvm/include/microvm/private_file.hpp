// A secret the host reads because its operator named it (a token file, a TLS key): a regular
// file of this user's that nobody else may read. It is opened once, never through a symlink as
// its last component, and judged on that descriptor, so the file judged is the file read (a
// check by path, then an open by path, read whatever was swapped in between).
#pragma once

#include <cstddef>
#include <string>

#include "microvm/error.hpp"
#include "rtfs/host/unique_fd.hpp"

namespace microvm {

// The open file, or InvalidConfig naming it as `what` ("token file PATH", the path as the user
// gave it): missing, a symlink, not a regular file, another user's, or readable or writable by
// group or others ("chmod 600 it").
Expected<rtfs::host::UniqueFd> open_private_file(const std::string& path, const std::string& what);

// All of that file, at most max_bytes.
Expected<std::string> read_private_file(const std::string& path, const std::string& what, size_t max_bytes);

}  // namespace microvm
