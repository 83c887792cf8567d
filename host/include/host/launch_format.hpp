// The launch message of a sandbox built ahead (a warm pool's): the program's argv and
// environment, sent by the host when an execution claims the sandbox, read by whatever waits
// inside (the process sandbox's init, the gvisor launcher), each with a magic of its own. Self-
// contained (no includes of the project): the gvisor launcher is a static program that links
// nothing of it.
#pragma once

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

namespace microvm::host {

// The header, then `bytes` of NUL-terminated strings: argc of argv, then envc of environment.
struct LaunchHeader {
    uint32_t magic = 0;
    uint32_t argc = 0;
    uint32_t envc = 0;
    uint32_t bytes = 0;
};
// Above what execve takes (a quarter of the stack limit, 2 MiB by default).
inline constexpr size_t kMaxLaunchBytes = 4u << 20;
inline constexpr size_t kMaxLaunchStrings = 1u << 16;

// The reading side, for whoever waits inside; async-signal-safe and allocation-free (the process
// sandbox's init is a copy of a multithreaded host). kClosed: end of input before any byte (the
// host tore the sandbox down unused); kMalformed: anything else that is not one message.
enum class LaunchRead { kOk, kClosed, kMalformed };

// 0: end of input before the first byte; n: all of it; -1: error or a short read.
inline ssize_t read_launch_bytes(int fd, void* into, size_t n) {
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

// Reads one message carrying `magic` from fd into strings (kMaxLaunchBytes) and pointers (at
// least kMaxLaunchStrings + 2): argv = pointers, null-terminated, then envp right after its null,
// null-terminated; exactly argc + envc strings, the last ending the message.
inline LaunchRead read_launch(int fd, uint32_t magic, char* strings, char** pointers,
                              char**& argv, char**& envp) {
    LaunchHeader h;
    const ssize_t got = read_launch_bytes(fd, &h, sizeof h);
    if (got == 0) return LaunchRead::kClosed;
    if (got < 0 || h.magic != magic || h.argc == 0 || h.bytes == 0 || h.bytes > kMaxLaunchBytes ||
        size_t{h.argc} + h.envc > kMaxLaunchStrings) {
        return LaunchRead::kMalformed;
    }
    if (read_launch_bytes(fd, strings, h.bytes) != static_cast<ssize_t>(h.bytes) ||
        strings[h.bytes - 1] != '\0') {
        return LaunchRead::kMalformed;
    }
    const size_t total = size_t{h.argc} + h.envc;
    argv = pointers;
    envp = pointers + h.argc + 1;
    size_t count = 0;
    for (size_t at = 0; at < h.bytes; at += ::strlen(strings + at) + 1) {  // the last byte is NUL
        if (count == total) return LaunchRead::kMalformed;
        if (count < h.argc) argv[count] = strings + at;
        else envp[count - h.argc] = strings + at;
        ++count;
    }
    if (count != total) return LaunchRead::kMalformed;
    argv[h.argc] = nullptr;
    envp[h.envc] = nullptr;
    return LaunchRead::kOk;
}

}  // namespace microvm::host
