// Paths the host acts on with its own identity because a settings file named them (the settings
// file itself, executables it runs, directories it keeps state in). A sandbox may have written
// anywhere it was given write access, so such a path is trusted only for where it lies, by the
// rule of OpenSSH's StrictModes: the object at its real location, and every directory above it,
// is owned by root or by the effective user and is writable by neither group nor others (a
// sticky world-writable directory such as /tmp does not qualify either).
#pragma once

#include <string>
#include <string_view>

#include "microvm/error.hpp"

namespace microvm {

// The real path (every symlink resolved) of `path` when it is trusted. `what` names the object
// in messages ("settings file", "runsc"). InvalidConfig when it does not exist; SetupError,
// naming the path and the fault, when it is not trusted.
Expected<std::string> trusted_real_path(std::string_view path, std::string_view what);

// trusted_real_path for an executable: also an absolute path naming a regular file with an
// execute bit.
Expected<std::string> trusted_executable(std::string_view path, std::string_view what);

}  // namespace microvm
