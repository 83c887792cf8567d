#include "host/landlock_private.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <utility>

#include "host/dir_stream.hpp"
#include "host/file_identity.hpp"
#include "host/mountinfo.hpp"
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

// The kept paths as they appear again below tree through a mount point that shows a kept path,
// or a directory on the way to one, a second time (a bind mount; the same file system mounted
// twice): rules attach to what is mounted, and a token was read through a bind mount of its
// directory inside a granted tree (red team, 2026-12-07). Compared by identity.
std::vector<std::string> seen_again_by_mounts(const std::string& tree, const std::vector<std::string>& kept) {
    std::vector<std::pair<std::string, FileIdentity>> points;
    for (const std::string& p : mount_points_below(tree))
        if (auto id = identity_at(p)) points.emplace_back(p, *id);
    std::vector<std::string> again;
    if (points.empty()) return again;
    for (const std::string& k : kept) {
        for (std::string a = k; a != "/"; a = parent_path(a)) {
            const std::optional<FileIdentity> id = identity_at(a);
            if (!id) continue;
            for (const auto& [point, point_id] : points)
                if (point_id == *id && point != a) again.push_back(point + k.substr(a.size()));
        }
    }
    return again;
}

// Appends to out the rules for the tree at dir (see rules_keeping_private).
Expected<void> add_tree(int dir, const std::string& name, Access access, const std::vector<std::string>& kept,
                        PrivateAwareRules& out) {
    const std::optional<std::string> real = fd_real_path(dir);
    if (!real) return fail(Failure::Kind::SetupError, "the real path of " + name + " cannot be read");
    std::vector<std::string> all = kept;
    if (!kept.empty()) {
        std::vector<std::string> again = seen_again_by_mounts(*real, kept);
        all.insert(all.end(), again.begin(), again.end());
    }
    // Only what lies strictly inside: a kept path that covers the tree itself (a session's work
    // directory in the daemon's state directory) was granted as such.
    std::vector<std::string> inside;
    for (const std::string& k : all)
        if (k != *real && is_within(k, *real)) inside.push_back(k);
    Splitter splitter(name, access, inside, out);
    if (!inside.empty()) return splitter.split(dir, *real, name);
    UniqueFd fd(::fcntl(dir, F_DUPFD_CLOEXEC, 0));
    if (!fd.valid()) return sys_failure("dup " + name + " for its Landlock rule", errno);
    return splitter.add(std::move(fd), name, access);
}

}  // namespace

Expected<PrivateAwareRules> rules_keeping_private(int dir, const std::string& name, Access access,
                                                  const std::vector<std::string>& kept) {
    PrivateAwareRules out;
    RTFS_CHECK(add_tree(dir, name, access, kept, out));
    return out;
}

Expected<PrivateAwareRules> rules_keeping_private(const std::vector<landlock::Rule>& rules,
                                                  const std::vector<std::string>& kept) {
    PrivateAwareRules out;
    for (const landlock::Rule& rule : rules) {
        if (kept.empty()) {
            out.rules.push_back(rule);
            continue;
        }
        // A rule by path is opened as restrict_self would open it; one that does not exist is dropped.
        UniqueFd opened;
        if (rule.fd < 0) {
            opened.reset(::open(rule.path.c_str(), O_PATH | O_CLOEXEC));
            if (!opened.valid()) {
                if (errno == ENOENT || errno == ENOTDIR) continue;
                return sys_failure("open " + rule.path + " for a Landlock rule", errno);
            }
        }
        const int fd = rule.fd >= 0 ? rule.fd : opened.get();
        struct stat st;
        if (::fstat(fd, &st) != 0) return sys_failure("stat " + rule.path, errno);
        if (!S_ISDIR(st.st_mode)) {
            const std::optional<std::string> real = fd_real_path(fd);
            if (!real) return fail(Failure::Kind::SetupError, "the real path of " + rule.path + " cannot be read");
            if (is_kept(*real, kept)) continue;  // a kept file named by a rule itself
            UniqueFd own(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
            if (!own.valid()) return sys_failure("dup " + rule.path + " for its Landlock rule", errno);
            out.rules.push_back({rule.path, rule.access, own.get()});
            out.held.push_back(std::move(own));
            continue;
        }
        RTFS_CHECK(add_tree(fd, rule.path, rule.access, kept, out));
    }
    return out;
}

}  // namespace microvm::host
