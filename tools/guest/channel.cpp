#include "channel.hpp"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "io.hpp"

namespace microvm::guest {

Channel Channel::open_path(const std::string& path, std::string& error) {
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        error = "cannot open the channel " + path + ": " + std::strerror(errno);
        return Channel(-1);
    }
    if (::isatty(fd)) {
        struct termios t {};
        if (::tcgetattr(fd, &t) == 0) {
            ::cfmakeraw(&t);
            ::tcsetattr(fd, TCSANOW, &t);
        }
    }
    return Channel(fd);
}

Channel Channel::adopt(int fd) {
    if (fd >= 0) ::fcntl(fd, F_SETFD, FD_CLOEXEC);  // programs the agent starts never see it
    return Channel(fd);
}

bool Channel::send(agent::FrameType type, std::string_view payload) {
    return send_bytes(agent::encode_frame(type, payload));
}

bool Channel::send_bytes(std::string_view frames) { return write_all(fd_.get(), frames); }

bool Channel::receive(agent::FrameDecoder& decoder) {
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd_.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        decoder.feed(std::string_view(buf, static_cast<size_t>(n)));
        return true;
    }
}

}  // namespace microvm::guest
