#include "host/landlock_private.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <utility>

#include "host/dir_stream.hpp"
#include "host/kept_places.hpp"
#include "host/paths.hpp"
#include "host/private_files.hpp"
#include "host/sys_error.hpp"

namespace microvm::host {
namespace {

using landlock::Access;

bool is_kept(const std::string& real, const std::vector<std::string>& kept) {
    return std::any_of(kept.begin(), kept.end(), [&](const std::string& k) { return covered_by(real, k); });
}

// Whether a kept path lies strictly below the directory real: it must be split, not granted.
bool holds_kept(const std::string& real, const std::vector<std::string>& kept) {
    return std::any_of(kept.begin(), kept.end(),
                       [&](const std::string& k) { return k != real && is_within(k, real); });
}

class Splitter {
  public:
    Splitter(std::string tree, Access access, const std::vector<std::string>& kept, PrivateAwareRules& out)
        : tree_(std::move(tree)), access_(access), kept_(kept), out_(out) {}

    Expected<void> add(UniqueFd fd, std::string name, Access access) {
        if (out_.rules.size() >= kMaxPrivateAwareRules) {
            return fail(Failure::Kind::SetupError,
                        "more than " + std::to_string(kMaxPrivateAwareRules) +
                            " Landlock rules to grant " + tree_ + " around the files kept private in it");
        }
        out_.rules.push_back({std::move(name), access, fd.get()});
        out_.held.push_back(std::move(fd));
        return Ok{};
    }

    // The directory dir (real path real): its names only, then each entry as the tree is
    // granted, but a kept one (none) or one holding a kept path (split in turn).
    Expected<void> split(int dir, const std::string& real, const std::string& name) {
        UniqueFd self(::openat(dir, ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!self.valid()) return sys_failure("open " + name + " for a Landlock rule", errno);
        RTFS_CHECK(add(std::move(self), name, Access::List));
        UniqueFd listing(::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        DirStream stream = listing.valid() ? adopt_dir(listing.release()) : DirStream();
        if (!stream) return sys_failure("list " + name + " for its Landlock rules", errno);
        for (errno = 0; const dirent* e = ::readdir(stream.get()); errno = 0) {
            const std::string entry = e->d_name;
            if (entry == "." || entry == "..") continue;
            const std::string entry_real = join_path(real, entry);
            const std::string entry_name = join_path(name, entry);
            if (is_kept(entry_real, kept_)) continue;
            // Never through a link: an entry swapped for one since it was listed gets no rule on
            // what it leads to.
            UniqueFd fd(::openat(dir, entry.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
            if (!fd.valid()) {
                if (errno == ENOENT) continue;  // removed since it was listed
                return sys_failure("open " + entry_name + " for a Landlock rule", errno);
            }
            struct stat st;
            if (::fstat(fd.get(), &st) != 0) return sys_failure("stat " + entry_name, errno);
            if (S_ISLNK(st.st_mode)) continue;  // Landlock judges where it leads
            if (S_ISDIR(st.st_mode) && holds_kept(entry_real, kept_)) {
                RTFS_CHECK(split(fd.get(), entry_real, entry_name));
                continue;
            }
            RTFS_CHECK(add(std::move(fd), entry_name, access_));
        }
        if (errno != 0) return sys_failure("list " + name, errno);
        return Ok{};
    }

  private:
    std::string tree_;
    Access access_;
    const std::vector<std::string>& kept_;
    PrivateAwareRules& out_;
};

// Appends to out the rules for the tree at dir (real path real; see rules_keeping_private).
Expected<void> add_tree(UniqueFd dir, const std::string& real, const std::string& name, Access access,
                        const KeptPlaces& places, PrivateAwareRules& out) {
    // Only what lies strictly inside: a kept path that covers the tree itself (a session's work
    // directory in the daemon's state directory) was granted as such.
    const std::vector<std::string> inside = places.inside(real);
    Splitter splitter(name, access, inside, out);
    if (inside.empty()) return splitter.add(std::move(dir), name, access);
    return splitter.split(dir.get(), real, name);
}

}  // namespace

Expected<PrivateAwareRules> rules_keeping_private(const std::vector<landlock::Rule>& rules,
                                                  const std::vector<std::string>& kept) {
    PrivateAwareRules out;
    if (kept.empty()) {
        out.rules = rules;
        return out;
    }
    RTFS_TRY(std::vector<MountEntry> mounts, read_mountinfo_or_fail());
    const KeptPlaces places(std::move(mounts), kept);
    for (const landlock::Rule& rule : rules) {
        // Opened as restrict_self would open it; a path that does not exist is dropped.
        RTFS_TRY(UniqueFd fd, landlock::open_rule(rule));
        if (!fd.valid()) continue;
        struct stat st;
        if (::fstat(fd.get(), &st) != 0) return sys_failure("stat " + rule.path, errno);
        const std::optional<std::string> real = fd_real_path(fd.get());
        if (!real) return fail(Failure::Kind::SetupError, "the real path of " + rule.path + " cannot be read");
        // A rule on a kept file is dropped, and so is a rule by path (judged by nobody) on a
        // directory at or inside a kept path (a file, or shown by a mount there). A rule on a
        // descriptor (a preopen) was judged by the host, which grants a session's directory
        // inside its own state directory as such.
        const bool judged = rule.fd >= 0;
        if ((!S_ISDIR(st.st_mode) || !judged) && places.covers(*real)) continue;
        if (!S_ISDIR(st.st_mode)) {
            out.rules.push_back({rule.path, rule.access, fd.get()});
            out.held.push_back(std::move(fd));
            continue;
        }
        RTFS_CHECK(add_tree(std::move(fd), *real, rule.path, rule.access, places, out));
    }
    return out;
}

}  // namespace microvm::host
