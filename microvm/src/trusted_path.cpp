#include "microvm/trusted_path.hpp"

#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <vector>

#include "microvm/path_within.hpp"
#include "text_util.hpp"

namespace microvm {
namespace {

std::string octal_mode(mode_t mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}


// Why the file system holding `path` cannot vouch for the owners it reports, or empty. A FUSE
// server reports whatever owner and mode it likes, and a user's mount with `user_allow_other` is
// visible to root: its files would pass for root's (OpenSSH's StrictModes has the same hole).
std::string file_system_fault(const std::string& path, const std::string& where) {
    struct statfs fs;
    if (::statfs(path.c_str(), &fs) != 0) return where + ": " + std::strerror(errno);
    if (fs.f_type == FUSE_SUPER_MAGIC) {
        return where + " lies on a FUSE file system, whose server reports any owner it likes";
    }
    return {};
}

// trusted_real_path, and with sticky_dirs a directory above that others may write but whose
// sticky bit keeps them from renaming or removing entries they do not own, when the entry of
// the path in it is a directory (a file there could be another's hard link to a file of root's).
Expected<std::string> real_path_of_owned_chain(std::string_view path, std::string_view what, bool sticky_dirs) {
    const std::string given(path);
    std::unique_ptr<char, decltype(&std::free)> real(::realpath(given.c_str(), nullptr),
                                                     &std::free);
    if (!real) {
        return fail(Failure::Kind::InvalidConfig, std::string(what) + " " + text::quoted(given) +
                                                      ": " + std::strerror(errno));
    }
    const std::string resolved(real.get());
    auto untrusted = [&](const std::string& fault) {
        return fail(Failure::Kind::SetupError,
                    "refusing " + std::string(what) + " " + text::quoted(given) +
                        (resolved == given ? "" : " (" + resolved + ")") + ": " + fault +
                        "; it must lie where only root or the invoking user can change it");
    };
    struct stat st;
    if (::stat(resolved.c_str(), &st) != 0) return untrusted(std::strerror(errno));
    if (std::string f = ownership_fault(st, "it"); !f.empty()) return untrusted(f);
    if (std::string f = file_system_fault(resolved, "it"); !f.empty()) return untrusted(f);
    // Every directory above it: whoever may rename or replace an entry there controls the path.
    std::string dir = resolved;
    bool entry_is_directory = S_ISDIR(st.st_mode);
    while (dir != "/") {
        size_t slash = dir.rfind('/');
        dir = slash == 0 ? "/" : dir.substr(0, slash);
        if (::stat(dir.c_str(), &st) != 0) return untrusted(dir + ": " + std::strerror(errno));
        const bool sticky_holds_entry = sticky_dirs && (st.st_mode & S_ISVTX) && entry_is_directory &&
                                        (st.st_uid == 0 || st.st_uid == ::geteuid());
        if (std::string f = ownership_fault(st, "directory " + text::quoted(dir)); !f.empty() && !sticky_holds_entry) {
            return untrusted(f);
        }
        if (std::string f = file_system_fault(dir, "directory " + text::quoted(dir)); !f.empty()) {
            return untrusted(f);
        }
        entry_is_directory = true;
    }
    return resolved;
}

// The executable at path, judged by trusted_real_path or owned_real_path (sticky_dirs).
Expected<std::string> executable_of_owned_chain(std::string_view path, std::string_view what, bool sticky_dirs) {
    if (path.empty() || path.front() != '/') {
        return fail(Failure::Kind::InvalidConfig,
                    std::string(what) + " " + text::quoted(path) + " must be an absolute path");
    }
    RTFS_TRY(std::string real, real_path_of_owned_chain(path, what, sticky_dirs));
    struct stat st;
    if (::stat(real.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111)) {
        return fail(Failure::Kind::SetupError, std::string(what) + " " + text::quoted(path) +
                                                   " is not an executable file");
    }
    return real;
}

}  // namespace

std::string ownership_fault(const struct stat& st, const std::string& where) {
    const uid_t me = ::geteuid();
    if (st.st_uid != 0 && st.st_uid != me) {
        return where + " is owned by uid " + std::to_string(st.st_uid) + " (only root" +
               (me == 0 ? std::string() : " or uid " + std::to_string(me)) + " may own it)";
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        return where + " is writable by " +
               ((st.st_mode & S_IWOTH) ? std::string("others") : std::string("its group")) +
               " (mode " + octal_mode(st.st_mode) + ")";
    }
    return {};
}

Expected<std::string> trusted_real_path(std::string_view path, std::string_view what) {
    return real_path_of_owned_chain(path, what, false);
}

Expected<std::string> owned_real_path(std::string_view path, std::string_view what) {
    return real_path_of_owned_chain(path, what, true);
}

Expected<std::string> trusted_executable(std::string_view path, std::string_view what) {
    return executable_of_owned_chain(path, what, false);
}

Expected<std::string> owned_executable(std::string_view path, std::string_view what) {
    return executable_of_owned_chain(path, what, true);
}

namespace {

// The components of path, in front of what is pending ("" and "." dropped).
void push_components(std::deque<std::string>& pending, std::string_view path) {
    std::vector<std::string> parts;
    for (size_t at = 0; at <= path.size();) {
        const size_t slash = std::min(path.find('/', at), path.size());
        const std::string_view part = path.substr(at, slash - at);
        if (!part.empty() && part != ".") parts.emplace_back(part);
        at = slash + 1;
    }
    pending.insert(pending.begin(), parts.begin(), parts.end());
}

}  // namespace

Expected<std::string> searched_real_path(std::string_view path, std::string_view what, bool executable) {
    const std::string given(path);
    if (given.empty() || given.front() != '/') {
        return fail(Failure::Kind::InvalidConfig, std::string(what) + " " + text::quoted(given) + " must be an absolute path");
    }
    auto refuse = [&](const std::string& fault) {
        return fail(Failure::Kind::SetupError,
                    "refusing " + std::string(what) + " " + text::quoted(given) + ": " + fault +
                        "; a program the host finds by searching must lie where only root or the invoking user "
                        "can change any entry on the way to it");
    };
    const uid_t me = ::geteuid();
    // Resolved here one entry at a time, as the kernel resolves it, so that every entry met is
    // judged: the path's own and those of each symlink's target (a symlink of root's into another
    // user's tree met their symlink there, which chose the rest: a review).
    std::deque<std::string> pending;
    push_components(pending, given);
    std::string current = "/";  // resolved so far: a real directory
    int links = 0;
    while (!pending.empty()) {
        const std::string name = std::move(pending.front());
        pending.pop_front();
        if (name == "..") {
            current = current.substr(0, std::max<size_t>(current.rfind('/'), 1));
            continue;
        }
        const std::string entry = join_path(current, name);
        struct stat dir, st;
        if (::stat(current.c_str(), &dir) != 0 || ::lstat(entry.c_str(), &st) != 0) {
            return fail(Failure::Kind::SetupError,
                        std::string(what) + " " + text::quoted(given) + ": " + entry + ": " + std::strerror(errno));
        }
        if (st.st_uid != 0 && st.st_uid != me) {
            return refuse(text::quoted(entry) + " is owned by uid " + std::to_string(st.st_uid));
        }
        // The directory holding the entry is where its owner was reported (a mount on the entry
        // is judged as the next entry's directory, or by owned_real_path at the end).
        if (std::string f = file_system_fault(current, text::quoted(entry)); !f.empty()) return refuse(f);
        // A directory others may write: only sticky (they cannot rename or remove what is not
        // theirs), and only holding a directory (a file there could be another's hard link).
        if (dir.st_mode & (S_IWGRP | S_IWOTH)) {
            if (!(dir.st_mode & S_ISVTX)) return refuse(text::quoted(current) + " is writable by others");
            if (!S_ISDIR(st.st_mode)) return refuse(text::quoted(entry) + " lies in a directory others may write");
        }
        if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            const ssize_t n = ::readlink(entry.c_str(), target, sizeof target);
            if (n <= 0 || n >= static_cast<ssize_t>(sizeof target) || ++links > 40) {
                return refuse(text::quoted(entry) + ": a symlink that cannot be followed");
            }
            if (target[0] == '/') current = "/";
            push_components(pending, std::string_view(target, static_cast<size_t>(n)));
            continue;
        }
        current = entry;
    }
    return executable ? owned_executable(current, what) : owned_real_path(current, what);
}

}  // namespace microvm
