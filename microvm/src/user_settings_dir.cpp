// The user's settings directory, apart from the rest of settings.cpp: the host library's
// protection of trusted state asks for it, and must not link the provider factory with it.
#include <cstdlib>
#include <filesystem>

#include "microvm/settings.hpp"

namespace microvm {

std::optional<std::string> user_settings_dir() {
    // Absolute values only (the XDG base directory specification ignores a relative one): a
    // relative one named a directory below the working directory, which a run granted rw= over
    // it could fill, and the next run from there read the planted settings (red team,
    // 2026-12-06: its runsc ran as root).
    if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && xdg[0] == '/') {
        return (std::filesystem::path(xdg) / "microvm").string();
    }
    if (const char* home = std::getenv("HOME"); home && home[0] == '/') {
        return (std::filesystem::path(home) / ".config" / "microvm").string();
    }
    return std::nullopt;
}

}  // namespace microvm
