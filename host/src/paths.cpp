#include "host/paths.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <memory>

#include "host/sys_error.hpp"

namespace microvm::host {

Expected<std::string> normalize_absolute_path(std::string_view path) {
    if (path.empty() || path.front() != '/') {
        return fail(Failure::Kind::InvalidInput,
                    "path '" + std::string(path) + "' is not absolute");
    }
    if (path.find('\0') != std::string_view::npos) {
        return fail(Failure::Kind::InvalidInput, "path contains a NUL byte");
    }
    std::string out;
    for (const std::string& part : path_components(path)) {
        if (part == "..") {
            return fail(Failure::Kind::InvalidInput,
                        "path '" + std::string(path) + "' contains '..'");
        }
        out += '/';
        out += part;
    }
    return out.empty() ? std::string("/") : out;
}

bool is_within(std::string_view path, std::string_view dir) {
    if (dir == "/") return true;
    return path.starts_with(dir) && (path.size() == dir.size() || path[dir.size()] == '/');
}

std::vector<std::string> path_components(std::string_view absolute_path) {
    std::vector<std::string> parts;
    size_t i = 0;
    while (i < absolute_path.size()) {
        size_t j = absolute_path.find('/', i);
        if (j == std::string_view::npos) j = absolute_path.size();
        std::string_view part = absolute_path.substr(i, j - i);
        if (!part.empty() && part != ".") parts.emplace_back(part);
        i = j + 1;
    }
    return parts;
}

std::string parent_path(std::string_view absolute_path) {
    size_t slash = absolute_path.rfind('/');
    if (slash == 0 || slash == std::string_view::npos) return "/";
    return std::string(absolute_path.substr(0, slash));
}

std::string resolved_path(const std::string& path) {
    // realpath cannot resolve it, and each shorter head would be tried in turn (quadratic).
    if (path.size() >= PATH_MAX) return path;
    std::string head = path, tail;
    while (!head.empty()) {
        if (char* real = ::realpath(head.c_str(), nullptr)) {
            std::string out = real;
            std::free(real);
            if (!tail.empty()) out += (out == "/" ? "" : "/") + tail;
            return out;
        }
        const size_t slash = head.find_last_of('/');
        if (slash == std::string::npos) break;
        const std::string name = head.substr(slash + 1);
        if (!name.empty()) tail = tail.empty() ? name : name + "/" + tail;
        head = slash == 0 ? "/" : head.substr(0, slash);
        if (head == "/" && name.empty()) break;
    }
    return path;
}

Expected<std::string> canonical_host_path(const std::string& path) {
    std::unique_ptr<char, decltype(&std::free)> resolved(::realpath(path.c_str(), nullptr),
                                                         &std::free);
    if (!resolved) {
        int err = errno;
        return fail(Failure::Kind::InvalidInput,
                    "cannot resolve '" + path + "': " + errno_text(err));
    }
    return std::string(resolved.get());
}

std::vector<std::string> path_dirs(std::string_view path_var) {
    std::vector<std::string> dirs;
    while (!path_var.empty()) {
        size_t colon = path_var.find(':');
        std::string_view dir = path_var.substr(0, colon);
        if (!dir.empty() && dir.front() == '/') dirs.emplace_back(dir);
        if (colon == std::string_view::npos) break;
        path_var.remove_prefix(colon + 1);
    }
    return dirs;
}

std::vector<std::string> program_search_dirs() {
    const char* path = std::getenv("PATH");
    std::vector<std::string> dirs = path_dirs(path ? path : "");
    for (const char* d : {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
        dirs.emplace_back(d);
    }
    return dirs;
}

std::string find_in_dirs(const std::string& name, const std::vector<std::string>& dirs) {
    for (const std::string& dir : dirs) {
        std::string candidate = dir + "/" + name;
        struct stat st {};
        if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
            ::access(candidate.c_str(), X_OK) == 0) {
            return candidate;
        }
    }
    return {};
}

}  // namespace microvm::host
