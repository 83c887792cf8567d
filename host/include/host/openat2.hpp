// openat2(2) with its retries in one place. EAGAIN: a rename somewhere in the file system raced
// a lookup confined with RESOLVE_BENEATH or RESOLVE_IN_ROOT, and the kernel asks for a retry;
// retried a bounded number of times, since a program renaming without pause could otherwise
// hold the caller in the loop for as long as it liked. EINTR: retried. Async-signal-safe (one
// system call, no allocation): usable in a child between clone and exec.
#pragma once

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace microvm::host {

inline constexpr int kOpenat2Attempts = 16;

// A descriptor, or -1 with errno set (EAGAIN when every attempt raced a rename; ENOSYS on a
// kernel without openat2, or a filter refusing it).
inline int openat2_fd(int dirfd, const char* path, uint64_t flags, uint64_t mode, uint64_t resolve) {
    struct open_how how {};
    how.flags = flags;
    how.mode = mode;
    how.resolve = resolve;
    for (int attempt = 0; attempt < kOpenat2Attempts; ++attempt) {
        const long fd = ::syscall(SYS_openat2, dirfd, path, &how, sizeof how);
        if (fd >= 0) return static_cast<int>(fd);
        if (errno != EAGAIN && errno != EINTR) return -1;
    }
    errno = EAGAIN;
    return -1;
}

}  // namespace microvm::host
