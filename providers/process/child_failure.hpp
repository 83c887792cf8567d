// Error plumbing for code running in the sandbox's init before exec: async-signal-safe only (no
// allocation, no locks, no stdio). A failed step records which step and errno, and the init
// sends it to the host as a ChildReport.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <string_view>

#include "host/unique_fd.hpp"
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

inline void send_report(int fd, const ChildReport& report) {
    host::write_all(fd, std::string_view(reinterpret_cast<const char*>(&report), sizeof report));
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
