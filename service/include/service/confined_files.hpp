// File access inside a session's work directory, which a hostile program may have filled with
// symlinks, FIFOs and deep trees. Every path is resolved by the kernel beneath the directory's
// descriptor with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
// RESOLVE_NO_XDEV): "..", absolute paths and any symlink on the way are refused by the kernel,
// not by string checks that a race could beat. Only regular files are read or written, opened
// non-blocking so a planted FIFO cannot hang the daemon.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "host/unique_fd.hpp"
#include "service/api_error.hpp"

namespace microvm::service {

// A relative path of 1..255 components without "", "." or ".." components (a 400 otherwise);
// the kernel enforces confinement anyway, this only gives clear errors.
ApiExpected<std::string> check_relative_path(const std::string& path);

// A session's work directory and what the daemon puts in it are open to every user
// (kSessionDirMode, kSessionFileMode), so that each provider's sandbox user can use them: gVisor
// writes as uid 65534, QEMU's 9p as a uid of its own. Only the session's own sandboxes reach
// them: the directory holding the work directories is root's and 0700 (sessions.cpp).
inline constexpr mode_t kSessionDirMode = 0777;
inline constexpr mode_t kSessionFileMode = 0666;

// Writes data to dir/path (creating missing parent directories kSessionDirMode, replacing an
// existing regular file's contents, leaving it kSessionFileMode). 403 for a path that escapes,
// crosses a symlink or names a non-regular file.
ApiExpected<void> write_beneath(int dir_fd, const std::string& path, const std::string& data);
// A regular file opened for reading, and its size when it was opened.
struct ReadableFile {
    host::UniqueFd fd;
    uint64_t size = 0;
    std::shared_ptr<void> pins;  // held while the file is open (a session's place in its owner's quota)
};
// Opens a regular file of at most max_bytes (413 beyond it) for reading. The caller streams it
// from the descriptor (pread), so a download never holds the whole file in memory.
ApiExpected<ReadableFile> open_beneath(int dir_fd, const std::string& path, size_t max_bytes);

}  // namespace microvm::service
