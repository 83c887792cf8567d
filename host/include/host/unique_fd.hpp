// RAII for file descriptors and pipes: every descriptor the provider opens is closed exactly once,
// on every path.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "microvm/error.hpp"
#include "rtfs/host/unique_fd.hpp"

namespace microvm::host {

// One descriptor type and one bounded read for every layer (rtfs/host/unique_fd.hpp).
using rtfs::host::UniqueFd;
using rtfs::host::read_to_end;
using rtfs::host::OpenedFile;
using rtfs::host::open_for_judging;

struct Pipe {
    UniqueFd read;
    UniqueFd write;
};

// A close-on-exec pipe (extra_flags may add O_NONBLOCK, applied to both ends).
Expected<Pipe> make_pipe(int extra_flags = 0);
// Sets O_NONBLOCK on one descriptor.
Expected<void> set_nonblocking(int fd);
// Writes all of data to fd: a write cut short or interrupted goes on, and a non-blocking fd (a
// pipe or terminal shared with a parent that set O_NONBLOCK) is waited for, never dropped. False
// with errno set when a write fails. Async-signal-safe (write and poll only): usable in a child
// between clone and exec.
bool write_all(int fd, std::string_view data);

// A descriptor 0-2 the caller left closed would be the next one this process opens (an
// eventfd, an audit log), and what it writes to stdout or stderr would land there: /dev/null
// takes each such place. First thing in main (the CLI, microvmd).
void open_closed_standard_descriptors();

// Opens a file that must be a regular file, for reading, without ever opening anything else:
// a FIFO would block open(2) until some writer came (ignoring deadlines and cancellation), and
// opening a device can act on it. The type is checked on an O_PATH handle first, then that very
// inode is opened (O_NONBLOCK, O_NOCTTY). InvalidInput naming the path and what it is.
Expected<UniqueFd> open_regular_file(const std::string& path);

}  // namespace microvm::host
