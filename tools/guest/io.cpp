#include "io.hpp"

#include <unistd.h>

#include <cerrno>

namespace microvm::guest {

std::string read_until_eof(int fd, size_t limit) {
    std::string data;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        data.append(buf, static_cast<size_t>(n));
        if (data.size() > limit) break;
    }
    return data;
}

}  // namespace microvm::guest
