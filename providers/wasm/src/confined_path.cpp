#include "confined_path.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <deque>
#include <string>
#include <vector>

#include "host/private_files.hpp"
#include "host/openat2.hpp"

namespace microvm::wasm {
namespace {

constexpr int kMaxSymlinks = 40;  // Linux's own limit

std::atomic<bool> g_force_walk{false};
std::atomic<int> g_openat2_state{0};  // 0 unknown, 1 works, -1 missing

bool valid_path(std::string_view path) {
    return path.find('\0') == std::string_view::npos;
}

std::deque<std::string> split(std::string_view path) {
    std::deque<std::string> parts;
    size_t i = 0;
    while (i < path.size()) {
        size_t j = path.find('/', i);
        if (j == std::string_view::npos) j = path.size();
        if (j > i) parts.emplace_back(path.substr(i, j - i));
        i = j + 1;
    }
    return parts;
}

// -1 when openat2 is unavailable (caller falls back), else 0 or a positive errno.
int try_openat2(int dir, const std::string& path, int flags, mode_t mode, UniqueFd& out) {
    if (g_force_walk.load() || g_openat2_state.load() < 0) return -1;
    const int fd = host::openat2_fd(dir, path.c_str(), static_cast<uint64_t>(flags) | O_CLOEXEC,
                                    (flags & O_CREAT) ? mode : 0, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
    if (fd >= 0) {
        g_openat2_state.store(1);
        out.reset(fd);
        return 0;
    }
    if (errno == ENOSYS) {
        g_openat2_state.store(-1);  // kernel older than 5.6, or filtered by seccomp
        return -1;
    }
    return errno;
}

int read_link(int dir, const std::string& name, std::string& target) {
    char buf[4096];
    ssize_t n = readlinkat(dir, name.c_str(), buf, sizeof buf);
    if (n < 0) return errno;
    if (static_cast<size_t>(n) == sizeof buf) return ENAMETOOLONG;
    target.assign(buf, static_cast<size_t>(n));
    return target.empty() ? ENOENT : 0;
}

// The fallback: walks component by component. Directories entered are kept open on a stack, so
// ".." pops back to the real parent and can never go above dir.
int walk_open(int dir, std::string_view path, int flags, mode_t mode, bool follow_last,
              UniqueFd& out) {
    if (path.empty()) return ENOENT;
    if (path.front() == '/') return EXDEV;
    std::deque<std::string> pending = split(path);
    const bool trailing_slash = path.back() == '/';
    std::vector<UniqueFd> stack;
    auto cur = [&] { return stack.empty() ? dir : stack.back().get(); };
    int symlinks = 0;
    if (pending.empty()) pending.emplace_back(".");

    while (!pending.empty()) {
        std::string name = std::move(pending.front());
        pending.pop_front();
        const bool last = pending.empty();
        if (name == "." || name == "..") {
            if (name == "..") {
                if (stack.empty()) return EXDEV;
                stack.pop_back();
            }
            if (!last) continue;
            int fd = openat(cur(), ".", flags | O_CLOEXEC, mode);
            if (fd < 0) return errno;
            out.reset(fd);
            return 0;
        }
        struct stat st;
        bool is_link =
            fstatat(cur(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
        if (is_link && (!last || follow_last || trailing_slash)) {
            if (++symlinks > kMaxSymlinks) return ELOOP;
            std::string target;
            if (int e = read_link(cur(), name, target)) return e;
            if (target.front() == '/') return EXDEV;
            std::deque<std::string> expanded = split(target);
            if (expanded.empty()) expanded.emplace_back(".");
            pending.insert(pending.begin(), expanded.begin(), expanded.end());
            continue;
        }
        if (!last) {
            int fd = openat(cur(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0) return errno;
            stack.emplace_back(fd);
            continue;
        }
        // O_NOFOLLOW even when following: a symlink swapped in after the check fails (ELOOP)
        // instead of being followed unchecked.
        int f = flags | O_NOFOLLOW | O_CLOEXEC | (trailing_slash ? O_DIRECTORY : 0);
        int fd = openat(cur(), name.c_str(), f, mode);
        if (fd < 0) return errno;
        out.reset(fd);
        return 0;
    }
    return ENOENT;
}

int open_confined(int dir, std::string_view path, int flags, mode_t mode, bool follow_last, UniqueFd& out) {
    if (!valid_path(path)) return EINVAL;
    if (path.empty()) return ENOENT;
    const std::string p(path);
    int r = try_openat2(dir, p, flags | (follow_last ? 0 : O_NOFOLLOW), mode, out);
    if (r >= 0) return r;
    return walk_open(dir, path, flags, mode, follow_last, out);
}

}  // namespace

// The host process's private files (host/private_files.hpp) are never handed over, whatever a
// preopen covers, nor changed on the way: a file to be created is judged by its name first, and
// one to be truncated only once it was judged (an O_TRUNC open emptied the daemon's token file
// and audit log before its refusal; red team, 2026-12-06).
int open_beneath(int dir, std::string_view path, int flags, mode_t mode, bool follow_last,
                 UniqueFd& out) {
    if (flags & O_CREAT) {
        ParentAndName parent;
        if (int r = resolve_parent(dir, path, parent); r != 0 && r != EINVAL) return r;
    }
    if (int r = open_confined(dir, path, flags & ~O_TRUNC, mode, follow_last, out); r != 0) return r;
    if (host::reaches_private(out.get(), dir)) {
        out.reset();
        return EACCES;
    }
    if (flags & O_TRUNC) {
        // As the open would have: a regular file only, and (as Linux does) opened read-only too,
        // then through the descriptor's own magic link, which names this very file.
        struct stat st;
        if (::fstat(out.get(), &st) == 0 && S_ISREG(st.st_mode)) {
            const bool done = (flags & O_ACCMODE) != O_RDONLY
                                  ? ::ftruncate(out.get(), 0) == 0
                                  : ::truncate(("/proc/self/fd/" + std::to_string(out.get())).c_str(), 0) == 0;
            if (!done) {
                const int err = errno;
                out.reset();
                return err;
            }
        }
    }
    return 0;
}

int resolve_parent(int dir, std::string_view path, ParentAndName& out) {
    if (!valid_path(path)) return EINVAL;
    if (path.empty()) return ENOENT;
    out.trailing_slash = false;
    while (path.size() > 1 && path.back() == '/') {
        path.remove_suffix(1);
        out.trailing_slash = true;
    }
    size_t slash = path.rfind('/');
    std::string_view parent = slash == std::string_view::npos ? "." : path.substr(0, slash);
    if (slash == 0) parent = "/";  // absolute: refused by open_beneath
    std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
    if (name.empty() || name == "." || name == "..") return EINVAL;
    out.name = std::string(name);
    if (int r = open_beneath(dir, parent, O_PATH | O_DIRECTORY, 0, true, out.parent); r != 0) return r;
    if (host::names_private(out.parent.get(), out.name, dir)) {
        out.parent.reset();
        return EACCES;
    }
    return 0;
}

void force_component_walk_for_testing(bool on) {
    g_force_walk.store(on);
}

}  // namespace microvm::wasm
