#include "rtfs/host/unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

namespace rtfs::host {

std::optional<OpenedFile> open_for_judging(const std::string& path) {
    OpenedFile f;
    f.fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
    if (!f.fd.valid() || ::fstat(f.fd.get(), &f.st) != 0) return std::nullopt;
    return f;
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
    for (bool first = true;; first = false) {
        const size_t at = data.size();
        // After the first read, the room already allocated comes first: the byte past a regular
        // file's end, read to see EOF, then costs no second allocation of the file's size.
        const size_t spare = data.capacity() - at;
        const size_t want = std::min(!first && spare > 0 ? spare : chunk, limit - at);
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

}  // namespace rtfs::host
