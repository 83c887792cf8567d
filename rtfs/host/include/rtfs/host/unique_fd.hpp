// A file descriptor closed exactly once, on every path, and a bounded read of all a descriptor
// holds. The lowest library with system calls keeps them, so that the RTFS capability host, the
// MicroVM core (settings files), the host kit (microvm::host re-exports both) and the tools share
// one copy.
#pragma once

#include <sys/stat.h>
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

// A file a caller was named and judges before it reads it: opened once for reading, never
// through a symlink as its last component, never blocking on a FIFO or taking a terminal, and
// its status, so that what is judged is what is read (a check by path, then an open, read
// whatever was swapped in between). nullopt with errno set when the open or the fstat failed;
// the type and owner are the caller's to judge.
struct OpenedFile {
    UniqueFd fd;
    struct stat st {};
};
std::optional<OpenedFile> open_for_judging(const std::string& path);

}  // namespace rtfs::host
