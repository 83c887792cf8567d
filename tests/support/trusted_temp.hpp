// Where tests put files the host must trust (settings files, executables named in settings):
// a directory only root or this user can change, as microvm/trusted_path.hpp demands. /tmp is
// writable by everyone, so it does not qualify.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <sys/stat.h>

#include <filesystem>
#include <string>

namespace testsupport {

inline std::filesystem::path trusted_temp_base() {
    if (::geteuid() == 0) return "/run";
    const char* home = ::getenv("HOME");
    return home ? home : "/run";
}

// A new directory there, mode 0700, named prefix-XXXXXX; empty when it cannot be made.
inline std::string make_trusted_temp_dir(const std::string& prefix) {
    std::string tmpl = (trusted_temp_base() / (prefix + "-XXXXXX")).string();
    if (!::mkdtemp(tmpl.data())) return {};
    ::chmod(tmpl.c_str(), 0700);
    return tmpl;
}

// A mkdtemp(3) template for a provider's configured state (state_dir, template_dir, image): it
// must lie where every run protects it by name (host/trusted_state.hpp), so /run/microvm-test-*
// for root and the user's /run/user/<uid>/microvm otherwise.
inline std::string state_temp_template(const std::string& name) {
    if (::geteuid() == 0) return "/run/microvm-test-" + name + "-XXXXXX";
    const std::string dir = "/run/user/" + std::to_string(::geteuid()) + "/microvm";
    ::mkdir(dir.c_str(), 0700);
    return dir + "/test-" + name + "-XXXXXX";
}

}  // namespace testsupport
