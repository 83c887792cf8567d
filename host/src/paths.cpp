#include "host/paths.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <vector>

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

bool searchable_by_others_above(const std::string& real_path) {
    struct stat st;
    for (std::string dir = parent_path(real_path);; dir = parent_path(dir)) {
        if (::stat(dir.c_str(), &st) != 0 || !(st.st_mode & S_IXOTH)) return false;
        if (dir == "/") return true;
    }
}

namespace {

// One kernel lookup and the descriptor's path (errno set when nullopt): realpath lstat()s every
// prefix of the path, quadratic in its depth (4 s for one path a program named, 2,000
// directories down through a few links: a review, 2026-12-06). O_PATH opens a FIFO without
// waiting for a writer.
std::optional<std::string> real_path_of(const std::string& path) {
    const int fd = ::open(path.c_str(), O_PATH | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    std::optional<std::string> real = fd_real_path(fd);
    const int err = errno;
    ::close(fd);
    errno = err;
    return real;
}

}  // namespace

std::string resolved_path(const std::string& path) {
    if (path.empty() || path.size() >= PATH_MAX) return path;  // no system call takes it
    if (auto whole = real_path_of(path)) return *whole;
    // The longest prefix that resolves, found by halving: a prefix resolves only if every shorter
    // one does (the kernel walks them), so n components cost log n lookups. Trying each
    // shorter prefix in turn cost microvmd 1-3 s of CPU per request of 256 policy paths of 4 KB
    // (a review, 2026-12-05).
    std::vector<std::string_view> parts;
    for (size_t i = 0; i < path.size();) {
        size_t j = path.find('/', i);
        if (j == std::string::npos) j = path.size();
        if (j > i) parts.push_back(std::string_view(path).substr(i, j - i));
        i = j + 1;
    }
    const bool absolute = path.front() == '/';
    auto prefix = [&](size_t count) {
        std::string p = absolute ? "/" : "";
        for (size_t i = 0; i < count; ++i) {
            if (i) p += '/';
            p += parts[i];
        }
        return p;
    };
    // parts[0, resolved) resolve (as `found`); parts[0, unresolved) do not.
    size_t resolved = 0, unresolved = parts.size();
    std::optional<std::string> found = absolute ? real_path_of("/") : std::nullopt;
    while (unresolved - resolved > 1) {
        const size_t mid = resolved + (unresolved - resolved) / 2;
        if (auto real = real_path_of(prefix(mid))) {
            resolved = mid;
            found = std::move(real);
        } else {
            unresolved = mid;
        }
    }
    if (!found) return path;
    std::string out = std::move(*found);
    for (size_t i = resolved; i < parts.size(); ++i) {
        if (out.back() != '/') out += '/';
        out += parts[i];
    }
    return out;
}

Expected<std::string> canonical_host_path(const std::string& path) {
    std::optional<std::string> real = real_path_of(path);
    const int err = errno;
    if (!real) return fail(Failure::Kind::InvalidInput, "cannot resolve '" + path + "': " + errno_text(err));
    return std::move(*real);
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

std::optional<std::string> fd_real_path(int fd) {
    char link[64], real[PATH_MAX];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    const ssize_t n = ::readlink(link, real, sizeof real);
    if (n <= 0) return std::nullopt;
    if (static_cast<size_t>(n) >= sizeof real) {
        errno = ENAMETOOLONG;
        return std::nullopt;
    }
    return std::string(real, static_cast<size_t>(n));
}

}  // namespace microvm::host
