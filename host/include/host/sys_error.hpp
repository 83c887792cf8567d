// Turning errno values into the project's error values.
#pragma once

#include <string>

#include "microvm/error.hpp"

namespace microvm::host {

// "strerror(err)" without the thread-safety trap of strerror().
std::string errno_text(int err);

// A SetupError "what: strerror(err)".
rtfs::Unexpected<Failure> sys_failure(const std::string& what, int err);

}  // namespace microvm::host
