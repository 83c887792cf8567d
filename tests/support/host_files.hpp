// Files of the host for tests: a temporary directory under /tmp (where any user could replace
// what a sandbox binds), writing and reading a small file, and the paths a glob matches.
#pragma once

#include <glob.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace testsupport {

// mkdtemp("/tmp/PREFIX-XXXXXX"), removed with everything in it.
class HostDir {
  public:
    explicit HostDir(const std::string& prefix) {
        std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
        path_ = ::mkdtemp(tmpl.data());
    }
    ~HostDir() { std::filesystem::remove_all(path_); }
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

}  // namespace testsupport
