#include "gvisor/oci_mounts.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <memory>

#include "host/paths.hpp"
#include "host/sys_error.hpp"
#include "host/dir_stream.hpp"

namespace microvm::gvisor {
namespace {

using host::Mount;

// Provided by the sentry itself in every container.
bool provided_by_gvisor(const std::string& top_level_name) {
    return top_level_name == "proc" || top_level_name == "dev" || top_level_name == "sys";
}

bool is_device_node_bind(const Mount& m) {
    return m.kind == Mount::Kind::Bind && m.source == m.target &&
           (m.target == "/dev/null" || m.target == "/dev/zero" || m.target == "/dev/urandom");
}

OciMount bind(const std::string& source, const std::string& target, bool directory, bool writable,
              host::FileIdentity identity) {
    return {target, "bind", source, {directory ? "rbind" : "bind", writable ? "rw" : "ro"},
            identity, directory, writable};
}

Expected<host::FileIdentity> identity_now(const std::string& path) {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return host::sys_failure("lstat " + path, errno);
    return host::identity_of(st);
}

OciMount to_oci(const Mount& m) {
    switch (m.kind) {
        case Mount::Kind::Tmpfs: {
            OciMount tmpfs{m.target, "tmpfs", "tmpfs", {"nosuid", "nodev", "mode=1777", "size=" + std::to_string(m.size_bytes)}};
            if (m.noexec) tmpfs.options.push_back("noexec");
            return tmpfs;
        }
        case Mount::Kind::Proc:
            return {m.target, "proc", "proc", {"nosuid", "nodev", "noexec"}};
        // Planned only by the process provider (its Full); gVisor's own /dev has both. Mapped
        // all the same, so that a plan that held one would not be bound as a host path.
        case Mount::Kind::Devpts:
            return {m.target, "devpts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}};
        case Mount::Kind::Mqueue:
            return {m.target, "mqueue", "mqueue", {"nosuid", "nodev", "noexec"}};
        case Mount::Kind::HostReadOnly:  // the host's mount itself, read-only (source = target)
        case Mount::Kind::Bind:
            break;
    }
    return bind(m.source, m.target, m.directory, m.writable, m.identity);
}

// The host's top-level entries as binds (and symlinks), for fs full; those on the root's own file
// system read-only unless root_writable (mounts of their own stay writable).
Expected<void> mirror_host_root(bool root_writable, const std::vector<Mount>& planned,
                                OciFilesystem& out) {
    struct stat root;
    if (::lstat("/", &root) != 0) return host::sys_failure("lstat /", errno);
    host::DirStream dir = host::open_dir("/");
    if (!dir) return host::sys_failure("opendir /", errno);
    std::vector<std::string> names;
    while (dirent* e = ::readdir(dir.get())) {
        std::string name = e->d_name;
        if (name == "." || name == ".." || provided_by_gvisor(name)) continue;
        bool planned_there = std::any_of(planned.begin(), planned.end(),
                                         [&](const Mount& m) { return m.target == "/" + name; });
        if (!planned_there) names.push_back(std::move(name));
    }
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
        const std::string path = "/" + name;
        struct stat st;
        if (::lstat(path.c_str(), &st) != 0) continue;  // vanished meanwhile
        if (S_ISLNK(st.st_mode)) {
            std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
            ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
            if (n <= 0 || static_cast<size_t>(n) >= target.size()) continue;
            target.resize(static_cast<size_t>(n));
            out.root_symlinks.emplace_back(name, target);
        } else if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) {
            const bool writable = root_writable || st.st_dev != root.st_dev;
            out.mounts.push_back(
                bind(path, path, S_ISDIR(st.st_mode), writable, {st.st_dev, st.st_ino}));
        }
    }
    return Ok{};
}

// Each mount point is made on the host inside the root (by runsc's gofer, or by the staging),
// and a staged mount is detached by its path (StagedBinds, unmount_below): inside the root, a
// point must fit in PATH_MAX. (A ~4060-byte policy path left its directories in /run for good
// when the removal walked full paths too: red team, 2026-12-05.)
Expected<void> check_fits_in_bundle(const std::string& rootfs_dir, const std::string& destination) {
    if (rootfs_dir.size() + destination.size() < PATH_MAX) return Ok{};
    return fail(Failure::Kind::Unsupported,
                "gvisor: the path '" + destination.substr(0, 64) + "...' (" +
                    std::to_string(destination.size()) + " bytes) is too long for the sandbox's "
                    "root: at most " + std::to_string(PATH_MAX - 1 - rootfs_dir.size()) +
                    " bytes here");
}

}  // namespace

Expected<OciFilesystem> oci_filesystem(const host::RootfsPlan& plan,
                                       const std::string& rootfs_dir,
                                       const std::optional<std::string>& result_dir) {
    OciFilesystem fs;
    fs.root_path = rootfs_dir;
    fs.cwd = plan.workdir;
    // Full: the host's root itself may be a memory file system made read-only
    // (host/full_memory_mounts.hpp), and then so is every top-level bind on it.
    const auto is_root_read_only = [](const Mount& m) {
        return m.kind == Mount::Kind::HostReadOnly && m.target == "/";
    };
    const bool root_read_only = std::any_of(plan.mounts.begin(), plan.mounts.end(), is_root_read_only);
    if (plan.host_root) RTFS_CHECK(mirror_host_root(!root_read_only, plan.mounts, fs));
    for (const Mount& m : plan.mounts) {
        if (is_root_read_only(m)) continue;
        // Full: gVisor's own /dev and /sys stand; the host's memory file systems there are
        // not the sandbox's to see, read-only or not.
        const std::vector<std::string> parts = host::path_components(m.target);
        if (plan.host_root && m.kind != Mount::Kind::Proc && !parts.empty() &&
            provided_by_gvisor(parts.front())) {
            continue;
        }
        RTFS_CHECK(check_fits_in_bundle(rootfs_dir, m.target));
        if (!is_device_node_bind(m)) fs.mounts.push_back(to_oci(m));
    }
    if (result_dir) {
        RTFS_TRY(host::FileIdentity identity, identity_now(*result_dir));
        fs.mounts.push_back(bind(*result_dir, kGuestResultDir, true, true, identity));
    }
    return fs;
}

Expected<OciMount> file_bind(const std::string& source, const std::string& target) {
    RTFS_TRY(host::FileIdentity identity, identity_now(source));
    return bind(source, target, /*directory=*/false, /*writable=*/false, identity);
}

bool bind_sources_unchanged(const std::vector<OciMount>& mounts) {
    return std::all_of(mounts.begin(), mounts.end(), [](const OciMount& m) {
        if (m.type != "bind") return true;
        auto now = identity_now(m.source);
        return now && *now == m.source_identity;
    });
}

}  // namespace microvm::gvisor
