// Files of the host for tests: a temporary directory under /tmp (where any user could replace
// what a sandbox binds), writing and reading a small file, and the paths a glob matches.
#pragma once

#include <glob.h>
#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace testsupport {

// mkdtemp("/tmp/PREFIX-XXXXXX"), mode 0700, removed with everything in it. A test's scratch
// place: never a name of its own making in /tmp, where any user could have put a symlink first
// (tests/scripts/no_fixed_tmp_names.py).
class HostDir {
  public:
    // Below base: /tmp, or elsewhere for a path that must not lie below the sandbox's own /tmp.
    explicit HostDir(const std::string& prefix, const std::string& base = "/tmp") {
        std::string tmpl = base + "/" + prefix + "-XXXXXX";
        if (const char* made = ::mkdtemp(tmpl.data())) {
            path_ = made;
        } else {  // the test fails here, naming it (gtest reports the exception)
            throw std::runtime_error("HostDir: mkdtemp " + tmpl + ": " + std::strerror(errno));
        }
    }
    ~HostDir() {
        std::error_code ec;  // what cannot go stays (a tree too deep for it): never a throw here
        std::filesystem::remove_all(path_, ec);
    }
    HostDir(const HostDir&) = delete;
    HostDir& operator=(const HostDir&) = delete;
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

inline void write_file(const std::filesystem::path& p, const std::string& text) { std::ofstream(p) << text; }

inline std::string read_text(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

inline std::vector<std::string> glob_paths(const std::string& pattern) {
    std::vector<std::string> out;
    glob_t g{};
    if (::glob(pattern.c_str(), 0, nullptr, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
    }
    ::globfree(&g);
    return out;
}

// Cgroup directories (any hierarchy, a few levels down, no symlinks) whose name starts with
// name_prefix: what a host named after itself ("microvm-process-<pid>.", host/stale_dirs.hpp).
inline std::vector<std::string> cgroup_dirs_named(const std::string& name_prefix) {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator("/sys/fs/cgroup", ec);
         it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        if (it.depth() > 4) {
            it.disable_recursion_pending();
            continue;
        }
        if (it->is_directory(ec) && !it->is_symlink(ec) &&
            it->path().filename().string().rfind(name_prefix, 0) == 0) {
            out.push_back(it->path());
        }
    }
    return out;
}

}  // namespace testsupport
