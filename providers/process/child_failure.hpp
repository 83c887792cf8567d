// Error plumbing for code running in the sandbox's init before exec: async-signal-safe only (no
// allocation, no locks, no stdio). A failed step records which step and errno, and the init
// sends it to the host as a ChildReport.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstddef>

#include "process/child_report.hpp"

namespace microvm::process {

struct ChildFailure {
    ChildStep step = ChildStep::kNone;
    int detail = 0;
    int err = 0;
};

// Records the failed step with the current errno; returns false so callers can `return failed()`.
inline bool failed(ChildFailure& f, ChildStep step, int detail = 0) {
    f.step = step;
    f.detail = detail;
    f.err = errno;
    return false;
}

inline bool write_all(int fd, const void* data, size_t size) {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t n = ::write(fd, p, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        size -= static_cast<size_t>(n);
    }
    return true;
}

inline void send_report(int fd, const ChildReport& report) {
    write_all(fd, &report, sizeof report);
}

inline void send_failure(int fd, ChildReport::Kind kind, const ChildFailure& f) {
    ChildReport r;
    r.kind = kind;
    r.step = f.step;
    r.detail = f.detail;
    r.err = f.err;
    send_report(fd, r);
}

}  // namespace microvm::process
