// A file descriptor closed exactly once, on every path, and a bounded read of all a descriptor
// holds. The lowest library with system calls keeps them, so that the RTFS capability host, the
// MicroVM core (settings files), the host kit (microvm::host re-exports both) and the tools share
// one copy.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace rtfs::host {

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

// Everything left to read from fd; nothing when a read fails or the data exceeds max_bytes.
std::optional<std::string> read_to_end(int fd, size_t max_bytes = SIZE_MAX);

}  // namespace rtfs::host
