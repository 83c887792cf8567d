#include "process/launch_message.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "host/sys_error.hpp"

namespace microvm::process {
namespace {

// The init's storage (it is single-threaded and reads one message in its life). In the host's
// BSS: pages nobody touches cost nothing.
char g_strings[kMaxLaunchBytes];
char* g_pointers[kMaxLaunchStrings + 2];  // argv, its null, envp, its null

// 0: end of input before the first byte; n: all of it; -1: error or a short read.
ssize_t read_exactly(int fd, void* into, size_t n) {
    auto* p = static_cast<char*>(into);
    size_t got = 0;
    while (got < n) {
        ssize_t r = ::read(fd, p + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return got == 0 && r == 0 ? 0 : -1;
        got += static_cast<size_t>(r);
    }
    return static_cast<ssize_t>(got);
}

}  // namespace

Expected<void> send_launch(int fd, const std::string& message,
                           std::chrono::steady_clock::time_point deadline) {
    size_t sent = 0;
    while (sent < message.size()) {
        ssize_t n = ::send(fd, message.data() + sent, message.size() - sent,
                           MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            sent += static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN) return host::sys_failure("sending the launch message", errno);
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return fail(Failure::Kind::SetupError, "the sandbox did not take its launch message in time");
        }
        struct pollfd p = {fd, POLLOUT, 0};
        ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    }
    return Ok{};
}

LaunchRead read_launch(int fd, LaunchArgs& out) {
    LaunchHeader h;
    const ssize_t got = read_exactly(fd, &h, sizeof h);
    if (got == 0) return LaunchRead::kClosed;
    if (got < 0 || h.magic != kLaunchMagic || h.argc == 0 || h.bytes > kMaxLaunchBytes ||
        static_cast<size_t>(h.argc) + h.envc > kMaxLaunchStrings) {
        return LaunchRead::kMalformed;
    }
    if (h.bytes == 0 || read_exactly(fd, g_strings, h.bytes) != static_cast<ssize_t>(h.bytes) ||
        g_strings[h.bytes - 1] != '\0') {
        return LaunchRead::kMalformed;
    }
    // Exactly argc + envc strings, the last ending the message.
    const size_t wanted = static_cast<size_t>(h.argc) + h.envc;
    size_t found = 0, slot = 0;
    char* start = g_strings;
    for (size_t i = 0; i < h.bytes; ++i) {
        if (g_strings[i] != '\0') continue;
        if (found == wanted) return LaunchRead::kMalformed;
        if (found == h.argc) g_pointers[slot++] = nullptr;  // argv's end
        g_pointers[slot++] = start;
        ++found;
        start = g_strings + i + 1;
    }
    if (found != wanted) return LaunchRead::kMalformed;
    if (h.envc == 0) g_pointers[slot++] = nullptr;  // argv's end (no environment followed)
    g_pointers[slot] = nullptr;
    out.argv = g_pointers;
    out.envp = g_pointers + h.argc + 1;
    return LaunchRead::kOk;
}

}  // namespace microvm::process
