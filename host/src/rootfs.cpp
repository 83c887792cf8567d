#include "host/trusted_state.hpp"
#include "host/rootfs.hpp"

#include <sys/stat.h>

#include <unistd.h>

#include <algorithm>
#include <deque>

#include "host/file_identity.hpp"
#include "host/hard_links.hpp"
#include "host/paths.hpp"

namespace microvm::host {

namespace {

const char* const kDeviceNodes[] = {"/dev/null", "/dev/zero", "/dev/urandom"};

size_t depth(const std::string& path) {
    return path_components(path).size();
}

// The host path that sandbox path target shows when it lies inside bind b.
std::string host_view(const Mount& b, const std::string& target) {
    std::string rest = b.target == "/" ? target : target.substr(b.target.size());
    if (b.source == "/") return rest.empty() ? "/" : rest;
    return b.source + rest;
}

// The deepest mount containing target; nullptr when only the root contains it.
const Mount* deepest_cover(const std::vector<Mount>& mounts, const std::string& target) {
    const Mount* best = nullptr;
    for (const Mount& m : mounts) {
        if (is_within(target, m.target) && (!best || m.target.size() > best->target.size())) {
            best = &m;
        }
    }
    return best;
}

// The host file a sandbox path shows, resolving it like the sandbox will: through the mounts
// (binds show their host source; our own tmpfs, /proc and the root tmpfs show no host file)
// and through symlinks, which resolve inside the sandbox root. nullopt when no host file.
std::optional<std::string> host_file_seen_at(const std::vector<Mount>& mounts,
                                             const std::string& path) {
    std::deque<std::string> todo;
    for (auto& c : path_components(path)) todo.push_back(std::move(c));
    std::string current;  // resolved sandbox path, "" = the root
    int links = 0;
    auto host_of = [&](const std::string& p) -> std::optional<std::string> {
        const Mount* cover = deepest_cover(mounts, p.empty() ? "/" : p);
        if (!cover || cover->kind != Mount::Kind::Bind) return std::nullopt;
        return host_view(*cover, p.empty() ? "/" : p);
    };
    while (!todo.empty()) {
        std::string c = std::move(todo.front());
        todo.pop_front();
        if (c == "..") {
            current = current.empty() ? "" : parent_path(current);
            if (current == "/") current.clear();
            continue;
        }
        std::string next = current + "/" + c;
        auto host = host_of(next);
        if (!host) {  // a directory of our own tmpfs: never a symlink
            current = std::move(next);
            continue;
        }
        struct stat st;
        if (::lstat(host->c_str(), &st) != 0) return std::nullopt;
        if (!S_ISLNK(st.st_mode)) {
            current = std::move(next);
            continue;
        }
        if (++links > 40) return std::nullopt;
        std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
        ssize_t n = ::readlink(host->c_str(), target.data(), target.size());
        if (n <= 0 || static_cast<size_t>(n) >= target.size()) return std::nullopt;
        target.resize(static_cast<size_t>(n));
        auto parts = path_components(target);
        todo.insert(todo.begin(), parts.begin(), parts.end());
        if (target.front() == '/') current.clear();
    }
    return host_of(current);
}

bool shows_same_file(const std::vector<Mount>& mounts, const std::string& sandbox_path,
                     const std::string& host_path) {
    auto seen = host_file_seen_at(mounts, sandbox_path);
    return seen && identity_at(*seen) == identity_at(host_path);
}

rtfs::Unexpected<Failure> bad_policy_path(const std::string& path, const std::string& why) {
    return fail(Failure::Kind::InvalidInput, "fs_policy path '" + path + "' " + why);
}

// A read-only path inside a writable one is bound read-only over it, which protects its files
// under their own names only: one with another hard link, which the writable tree may hold, is
// written through that link (red team, 2026-12-06). Such a path is refused, as is one too large
// to look through.
constexpr size_t kMaxNestedReadOnlyEntries = 100'000;

Expected<void> refuse_hard_links_out(const Mount& read_only, const Mount& writable) {
    const std::string inside = "is read-only inside the writable '" + writable.target + "', ";
    auto found = find_hard_linked_file(read_only.source, read_only.identity, read_only.directory,
                                       kMaxNestedReadOnlyEntries);
    if (!found) {
        return bad_policy_path(read_only.target, inside + "but could not be looked through for hard links a "
                                                          "program could write its files through: " +
                                                     found.error().message);
    }
    const HardLinkSearch& search = *found;
    if (search.linked_file) {
        return bad_policy_path(read_only.target,
                               inside + "but '" + *search.linked_file + "' has " + std::to_string(search.links) +
                                   " hard links, through which a program could write it; give it a copy "
                                   "with one link, or keep it out of the writable path");
    }
    if (search.too_large) {
        return bad_policy_path(read_only.target,
                               inside + "and holds more than " + std::to_string(kMaxNestedReadOnlyEntries) +
                                   " entries (or 64 levels), too many to look through for hard links a "
                                   "program could write its files through");
    }
    return Ok{};
}

Expected<std::vector<Mount>> policy_binds(const FileSystemPolicy& policy) {
    std::vector<std::pair<std::string, bool>> wanted;  // path, writable
    if (policy.kind == FileSystemPolicy::Kind::ReadOnly) {
        for (const std::string& p : policy.paths.empty() ? standard_system_dirs() : policy.paths) {
            wanted.emplace_back(p, false);
        }
    } else {
        for (const std::string& p : policy.paths) wanted.emplace_back(p, true);
        for (const std::string& p : policy.read_only_paths) wanted.emplace_back(p, false);
    }
    std::vector<Mount> binds;
    MountTable mounts;  // one snapshot for every path of this plan
    for (const auto& [given, writable] : wanted) {
        auto normalized = normalize_absolute_path(given);
        if (!normalized) return bad_policy_path(given, "is invalid: " + normalized.error().message);
        const std::string& target = *normalized;
        for (const char* dir : {"/proc", "/sys", "/dev"}) {
            if (is_within(target, dir)) {
                return bad_policy_path(given, "lies inside " + std::string(dir) +
                                                  ", which no sandbox may see from the host");
            }
        }
        RTFS_TRY(CheckedSource source, check_policy_source(target, mounts));
        if (writable) RTFS_CHECK(refuse_writable_trusted_state(source.real_path, "fs_policy path"));
        Mount m;
        m.kind = Mount::Kind::Bind;
        m.source = source.real_path;
        m.target = target;
        m.directory = source.directory;
        m.writable = writable;
        m.identity = source.identity;
        m.owner_uid = source.owner_uid;
        m.owner_gid = source.owner_gid;
        binds.push_back(std::move(m));
    }
    std::stable_sort(binds.begin(), binds.end(), [](const Mount& a, const Mount& b) {
        return depth(a.target) < depth(b.target);
    });
    // A path inside another bound path is already visible through it, unless it resolves
    // elsewhere (a symlink), which a mount could not express without writing into the host tree.
    std::vector<Mount> kept;
    for (Mount& m : binds) {
        if (const Mount* outer = deepest_cover(kept, m.target)) {
            // Already visible through the outer bind, unless it is to be writable there (or
            // read-only) while the outer one is not: then it is bound over it.
            if (shows_same_file(kept, m.target, m.source)) {
                if (m.writable == outer->writable) continue;
                if (!m.writable) RTFS_CHECK(refuse_hard_links_out(m, *outer));
                kept.push_back(std::move(m));
                continue;
            }
            return bad_policy_path(m.target, "lies inside '" + outer->target +
                                                 "' but resolves elsewhere (through a symlink); "
                                                 "name its target instead");
        }
        kept.push_back(std::move(m));
    }
    return kept;
}

}  // namespace

Expected<RootfsPlan> plan_rootfs(const RootfsRequest& request) {
    RootfsPlan plan;
    if (request.policy.kind == FileSystemPolicy::Kind::Full) {
        plan.host_root = true;
        plan.mounts.push_back({Mount::Kind::Proc, "proc", "/proc"});
        return plan;
    }

    std::vector<Mount> mounts;
    if (request.policy.kind != FileSystemPolicy::Kind::None) {
        RTFS_TRY(mounts, policy_binds(request.policy));
    }

    mounts.push_back({Mount::Kind::Proc, "proc", "/proc"});
    // The private /tmp, unless the policy binds the host's /tmp itself.
    bool tmp_bound = std::any_of(mounts.begin(), mounts.end(),
                                 [](const Mount& m) { return m.target == "/tmp"; });
    if (!tmp_bound) {
        Mount tmp{Mount::Kind::Tmpfs, "tmpfs", "/tmp"};
        tmp.writable = true;
        tmp.size_bytes = request.tmp_size_bytes;
        mounts.push_back(std::move(tmp));
        plan.workdir = "/tmp";
    }

    // What the program needs, bound read-only where it looks for it unless already visible.
    std::vector<Mount> needed;
    // The program names these files (its "#!" line, PT_INTERP, libraries): they pass the checks
    // of policy paths, and must be regular files, so no program brings in /proc, /sys or /dev.
    MountTable mount_table;
    for (const HostFile& f : request.program_files) {
        RTFS_TRY(CheckedSource source,
                 check_policy_source(f.host_path, mount_table, "program file"));
        if (source.directory) {
            return fail(Failure::Kind::InvalidInput,
                        "program file '" + f.host_path + "' is a directory");
        }
        Mount m{Mount::Kind::Bind, source.real_path, f.sandbox_path, false};
        m.identity = source.identity;
        needed.push_back(std::move(m));
    }
    std::vector<Mount> host_given;  // from the settings and the kit itself
    for (const std::string& dir : request.runtime_dirs) {
        RTFS_TRY(std::string target, normalize_absolute_path(dir));
        RTFS_TRY(std::string source, canonical_host_path(target));
        host_given.push_back({Mount::Kind::Bind, source, target, true});
    }
    for (const char* dev : kDeviceNodes) {
        // Read-only: writing to /dev/null still works, changing the host's node (chmod, chown)
        // does not.
        Mount m{Mount::Kind::Bind, dev, dev, false};
        m.devices = true;
        host_given.push_back(std::move(m));
    }
    for (Mount& n : host_given) {
        struct stat st;
        if (::stat(n.source.c_str(), &st) != 0) {
            return fail(Failure::Kind::SetupError, "cannot place '" + n.target +
                                                       "' in the sandbox: '" + n.source +
                                                       "' is gone");
        }
        n.identity = {st.st_dev, st.st_ino};
        needed.push_back(std::move(n));
    }
    const std::vector<Mount> covers = mounts;
    for (Mount& n : needed) {
        const Mount* cover = deepest_cover(covers, n.target);
        if (cover && cover->kind == Mount::Kind::Proc) {
            return fail(Failure::Kind::SetupError,
                        "cannot place '" + n.target + "' in the sandbox: it lies inside /proc");
        }
        if (cover && cover->kind == Mount::Kind::Bind) {
            if (shows_same_file(covers, n.target, n.source)) continue;
            return fail(Failure::Kind::SetupError,
                        "cannot place '" + n.target + "' in the sandbox: the fs policy binds '" +
                            cover->target + "' there, which holds a different file");
        }
        bool duplicate = std::any_of(mounts.begin(), mounts.end(),
                                     [&](const Mount& m) { return m.target == n.target; });
        if (!duplicate) mounts.push_back(std::move(n));
    }

    std::stable_sort(mounts.begin(), mounts.end(), [](const Mount& a, const Mount& b) {
        return depth(a.target) < depth(b.target);
    });
    plan.mounts = std::move(mounts);

    // /dev/fd and friends, when /dev is our own directory rather than a bound host one.
    if (!deepest_cover(covers, "/dev")) {
        plan.symlinks = {{"/dev/fd", "/proc/self/fd"},
                         {"/dev/stdin", "/proc/self/fd/0"},
                         {"/dev/stdout", "/proc/self/fd/1"},
                         {"/dev/stderr", "/proc/self/fd/2"}};
    }
    return plan;
}

}  // namespace microvm::host
