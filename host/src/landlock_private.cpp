#include "host/landlock_private.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <utility>

#include "host/dir_stream.hpp"
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

// The mount among mounts that shows path: the last of the longest mount points path lies in.
const MountEntry* mount_showing(const std::vector<MountEntry>& mounts, const std::string& path) {
    const MountEntry* best = nullptr;
    for (const MountEntry& m : mounts)
        if (is_within(path, m.mount_point) && (!best || m.mount_point.size() >= best->mount_point.size())) best = &m;
    return best;
}

const MountEntry* mount_by_id(const std::vector<MountEntry>& mounts, const std::string& id) {
    for (const MountEntry& m : mounts)
        if (m.id == id) return &m;
    return nullptr;
}

// path with the prefix `from` replaced by `to` (path lies within from).
std::string rebased(const std::string& path, const std::string& from, const std::string& to) {
    const std::string rest = from == "/" ? path.substr(1) : path.substr(std::min(path.size(), from.size() + 1));
    return rest.empty() ? to : join_path(to, rest);
}

// A place in a file system: mountinfo's device and the path inside it. Landlock's rules attach to
// what is mounted, not to paths, so a kept path is judged where it lies in its file system,
// whichever mount shows it (a bind mount of it or of a directory above it, an rbind of /).
struct Place {
    std::string device;
    std::string path;
};

// Adds the places of the mount point of m and of every mount point below it, down to the root:
// Landlock's walk from a file goes up through each mount point into the file system it is
// mounted on, so a rule on a directory above any of them grants what m shows (a tree granted at
// a bind of / reached a token on another file system: review, 2026-12-07).
void add_mount_points(const std::vector<MountEntry>& mounts, const MountEntry* m, std::vector<Place>& places) {
    for (size_t depth = 0; m && depth < mounts.size(); ++depth) {
        const MountEntry* parent = mount_by_id(mounts, m->parent_id);
        if (!parent || parent == m || !is_within(m->mount_point, parent->mount_point)) return;
        places.push_back({parent->device, rebased(m->mount_point, parent->mount_point, parent->root)});
        m = parent;
    }
}

// The places of the kept paths, and of the mount points under every mount that holds one or
// shows one or something inside one again (a bind mount of the token over another file, of a
// session's directory into a tree).
std::vector<Place> kept_places(const std::vector<MountEntry>& mounts, const std::vector<std::string>& kept) {
    std::vector<Place> places;
    for (const std::string& k : kept)
        if (const MountEntry* home = mount_showing(mounts, k))
            places.push_back({home->device, rebased(k, home->mount_point, home->root)});
    const size_t kept_count = places.size();
    for (const MountEntry& m : mounts) {
        for (size_t i = 0; i < kept_count; ++i) {
            const bool holds = is_within(places[i].path, m.root), shows = is_within(m.root, places[i].path);
            if (m.device != places[i].device || !(holds || shows)) continue;
            add_mount_points(mounts, &m, places);
            break;
        }
    }
    return places;
}

// Where places appear below the directory real (strictly), through its own mount or any mount
// below it.
std::vector<std::string> kept_below(const std::vector<MountEntry>& mounts, const std::vector<Place>& places,
                                    const std::string& real) {
    std::vector<std::string> below;
    const MountEntry* home = mount_showing(mounts, real);
    for (const MountEntry& m : mounts) {
        if (&m != home && !is_within(m.mount_point, real)) continue;
        for (const Place& p : places) {
            if (p.device != m.device || !is_within(p.path, m.root)) continue;
            std::string seen = rebased(p.path, m.root, m.mount_point);
            if (seen != real && is_within(seen, real)) below.push_back(std::move(seen));
        }
    }
    return below;
}

// Appends to out the rules for the tree at dir (see rules_keeping_private).
Expected<void> add_tree(int dir, const std::string& name, Access access, const std::vector<MountEntry>& mounts,
                        const std::vector<Place>& places, PrivateAwareRules& out) {
    const std::optional<std::string> real = fd_real_path(dir);
    if (!real) return fail(Failure::Kind::SetupError, "the real path of " + name + " cannot be read");
    // Only what lies strictly inside: a kept path that covers the tree itself (a session's work
    // directory in the daemon's state directory) was granted as such.
    const std::vector<std::string> inside = kept_below(mounts, places, *real);
    Splitter splitter(name, access, inside, out);
    if (!inside.empty()) return splitter.split(dir, *real, name);
    UniqueFd fd(::fcntl(dir, F_DUPFD_CLOEXEC, 0));
    if (!fd.valid()) return sys_failure("dup " + name + " for its Landlock rule", errno);
    return splitter.add(std::move(fd), name, access);
}

// The mount table and the kept places, read once for all the trees of one set of rules.
struct KeptLayout {
    std::vector<MountEntry> mounts;
    std::vector<Place> places;
};

Expected<KeptLayout> kept_layout(const std::vector<std::string>& kept) {
    KeptLayout layout;
    if (kept.empty()) return layout;
    RTFS_TRY(layout.mounts, read_mountinfo_or_fail());
    layout.places = kept_places(layout.mounts, kept);
    return layout;
}

}  // namespace

Expected<PrivateAwareRules> rules_keeping_private(int dir, const std::string& name, Access access,
                                                  const std::vector<std::string>& kept) {
    PrivateAwareRules out;
    if (kept.empty()) {
        UniqueFd fd(::fcntl(dir, F_DUPFD_CLOEXEC, 0));
        if (!fd.valid()) return sys_failure("dup " + name + " for its Landlock rule", errno);
        out.rules.push_back({name, access, fd.get()});
        out.held.push_back(std::move(fd));
        return out;
    }
    RTFS_TRY(const KeptLayout layout, kept_layout(kept));
    RTFS_CHECK(add_tree(dir, name, access, layout.mounts, layout.places, out));
    return out;
}

Expected<PrivateAwareRules> rules_keeping_private(const std::vector<landlock::Rule>& rules,
                                                  const std::vector<std::string>& kept) {
    PrivateAwareRules out;
    if (kept.empty()) {
        out.rules = rules;
        return out;
    }
    RTFS_TRY(const KeptLayout layout, kept_layout(kept));
    for (const landlock::Rule& rule : rules) {
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
        // A rule by path was judged by nobody: at or inside a kept path (a file, or shown by a
        // mount there), it is dropped. A rule on a descriptor (a preopen) was judged by the host,
        // which grants a session's directory inside its own state directory as such.
        const bool judged = rule.fd >= 0;
        if (!S_ISDIR(st.st_mode) || !judged) {
            const std::optional<std::string> real = fd_real_path(fd);
            if (!real) return fail(Failure::Kind::SetupError, "the real path of " + rule.path + " cannot be read");
            const MountEntry* home = mount_showing(layout.mounts, *real);
            const bool kept_here = home && std::any_of(layout.places.begin(), layout.places.end(), [&](const Place& p) {
                return p.device == home->device && covered_by(rebased(*real, home->mount_point, home->root), p.path);
            });
            if (kept_here) continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            UniqueFd own = judged ? UniqueFd(::fcntl(fd, F_DUPFD_CLOEXEC, 0)) : std::move(opened);
            if (!own.valid()) return sys_failure("dup " + rule.path + " for its Landlock rule", errno);
            out.rules.push_back({rule.path, rule.access, own.get()});
            out.held.push_back(std::move(own));
            continue;
        }
        RTFS_CHECK(add_tree(fd, rule.path, rule.access, layout.mounts, layout.places, out));
    }
    return out;
}

}  // namespace microvm::host
