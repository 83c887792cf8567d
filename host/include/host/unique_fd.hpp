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

namespace microvm::host {

class UniqueFd {
  public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        if (this != &other) reset(other.release());
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    int release() { return std::exchange(fd_, -1); }
    void reset(int fd = -1) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

  private:
    int fd_ = -1;
};

struct Pipe {
    UniqueFd read;
    UniqueFd write;
};

// A close-on-exec pipe (extra_flags may add O_NONBLOCK, applied to both ends).
Expected<Pipe> make_pipe(int extra_flags = 0);
// Sets O_NONBLOCK on one descriptor.
Expected<void> set_nonblocking(int fd);
// Everything left to read from fd; nothing when a read fails or the data exceeds max_bytes.
std::optional<std::string> read_to_end(int fd, size_t max_bytes = SIZE_MAX);
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
