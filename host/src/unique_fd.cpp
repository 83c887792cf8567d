#include "host/unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "host/sys_error.hpp"

namespace microvm::host {

Expected<Pipe> make_pipe(int extra_flags) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | extra_flags) != 0) return sys_failure("pipe2", errno);
    return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

Expected<void> set_nonblocking(int fd) {
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
        return sys_failure("fcntl(O_NONBLOCK)", errno);
    }
    return Ok{};
}

std::optional<std::string> read_to_end(int fd, size_t max_bytes) {
    std::string data;
    // A regular file says how large it is: read it straight into place, in one piece where the
    // kernel allows (a decoded module is megabytes; 4 KiB reads appended cost page faults).
    struct stat st {};
    size_t chunk = 4096;
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        chunk = std::min<size_t>(static_cast<size_t>(st.st_size), max_bytes) + 1;  // +1: sees EOF
    }
    // Reading one byte past the cap tells a file over it from one exactly at it.
    const size_t limit = max_bytes == SIZE_MAX ? SIZE_MAX : max_bytes + 1;
    for (;;) {
        const size_t at = data.size();
        const size_t want = std::min(chunk, limit - at);
        data.resize(at + want);
        ssize_t n = ::read(fd, data.data() + at, want);
        if (n < 0 && errno == EINTR) {
            data.resize(at);
            continue;
        }
        if (n < 0) return std::nullopt;
        data.resize(at + static_cast<size_t>(n));
        if (n == 0) return data;
        if (data.size() > max_bytes) return std::nullopt;
    }
}

}  // namespace microvm::host
