#include "host/sys_error.hpp"

#include <cstring>

namespace microvm::host {

std::string errno_text(int err) {
    char buf[128];
    // GNU strerror_r may return a static string instead of filling buf.
    return ::strerror_r(err, buf, sizeof buf);
}

rtfs::Unexpected<Failure> sys_failure(const std::string& what, int err) {
    return fail(Failure::Kind::SetupError, what + ": " + errno_text(err));
}

}  // namespace microvm::host
