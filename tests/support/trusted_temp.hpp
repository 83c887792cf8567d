// Where tests put files the host must trust (settings files, executables named in settings):
// a directory only root or this user can change, as microvm/trusted_path.hpp demands. /tmp is
// writable by everyone, so it does not qualify.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

namespace testsupport {

inline std::filesystem::path trusted_temp_base() {
    if (::geteuid() == 0) return "/run";
    const char* home = ::getenv("HOME");
    return home ? home : "/run";
}

}  // namespace testsupport
