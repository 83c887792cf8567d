#include "host/stale_dirs.hpp"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <vector>

namespace microvm::host {

size_t remove_dirs_of_dead_owners(const std::string& parent, std::string_view prefix) {
    DIR* d = ::opendir(parent.c_str());
    if (!d) return 0;
    std::vector<std::string> stale;
    while (dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (!name.starts_with(prefix)) continue;
        const long owner = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
        if (owner <= 0 || owner == ::getpid()) continue;
        if (::kill(static_cast<pid_t>(owner), 0) == 0 || errno != ESRCH) continue;
        stale.push_back(parent + "/" + name);
    }
    ::closedir(d);
    size_t n = 0;
    for (const std::string& dir : stale) {
        std::error_code ec;
        if (std::filesystem::remove_all(dir, ec) > 0) ++n;
    }
    return n;
}

}  // namespace microvm::host
