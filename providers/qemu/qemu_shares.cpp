#include "qemu/qemu_shares.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "host/paths.hpp"
#include "host/trusted_state.hpp"
#include "qemu/qemu_vm.hpp"

namespace microvm::qemu {

std::vector<CheckedShare> check_shares(const FileSystemPolicy& fs, std::vector<Unsupported>& problems) {
    // QEMU serves 9p as an unprivileged uid: every named directory must be a directory it can
    // enter (and, writable ones, write), or the guest would see failures rather than a refusal.
    std::vector<std::pair<std::string, bool>> dirs;
    if (fs.kind == FileSystemPolicy::Kind::ReadOnly) {
        for (const auto& p : fs.paths) dirs.push_back({p, false});
    } else if (fs.kind == FileSystemPolicy::Kind::ReadWrite) {
        for (const auto& p : fs.read_only_paths) dirs.push_back({p, false});
        for (const auto& p : fs.paths) dirs.push_back({p, true});
    }
    // Each path goes through the checks every provider's bind sources go through
    // (host/policy_source.hpp). A symlink a guest planted through an earlier rw share (its 9p
    // creates real host symlinks) would otherwise share /proc or anything else with a later run,
    // and /sys, /dev/shm or a kernel file system could be named outright (red team, 2026-12-03).
    host::MountTable mounts;
    std::vector<CheckedShare> checked;
    for (const auto& [path, writable] : dirs) {
        struct stat st;
        if (path.empty() || path.front() != '/' || ::stat(path.c_str(), &st) != 0) {
            problems.push_back({"fs_policy", "'" + path + "' is not an existing absolute path"});
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            problems.push_back({"fs_policy", "'" + path + "' is not a directory: qemu shares directories (9p)"});
            continue;
        }
        auto source = host::check_policy_source(path, mounts);
        if (!source) {
            problems.push_back({"fs_policy", source.error().message});
            continue;
        }
        // One directory, one share: a second would take a device for nothing (or mount the same
        // host directory read-only and writable).
        if (std::any_of(checked.begin(), checked.end(),
                        [&](const CheckedShare& c) { return c.source.real_path == source->real_path; })) {
            problems.push_back({"fs_policy", "'" + path + "' names " + source->real_path +
                                                 " again: each directory may be shared once"});
            continue;
        }
        // A user's host runs QEMU as the user, whose 9p writes the user's records would trust.
        if (writable) {
            if (auto refused = host::refuse_writable_trusted_state(source->real_path, "fs_policy path");
                !refused) {
                problems.push_back({"fs_policy", refused.error().message});
                continue;
            }
        }
        const bool root = ::geteuid() == 0;
        auto may = [&](mode_t owner, mode_t other) {
            // Under a root host each QEMU has a uid of its own (qemu_vm.hpp): only the group
            // nogroup's bits and other's can let it in. Otherwise QEMU is the caller.
            if (!root && st.st_uid == ::geteuid()) return (st.st_mode & owner) != 0;
            return (st.st_gid == kQemuGid && (st.st_mode & (owner >> 3))) || (st.st_mode & other);
        };
        if (!may(S_IXUSR, S_IXOTH) || (writable && !may(S_IWUSR, S_IWOTH))) {
            char mode[8];
            std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
            problems.push_back({"fs_policy", "'" + path + "' is not " +
                                                 (writable ? "writable" : "accessible") +
                                                 " by QEMU's unprivileged uid, which is "
                                                 "neither its owner nor in group " +
                                                 std::to_string(kQemuGid) + " (owner uid " +
                                                 std::to_string(st.st_uid) + ", mode " + mode + ")"});
        }
        checked.push_back({path, std::move(*source), writable});
    }
    // A read-only share inside a writable one would be read-only only by the guest kernel's
    // mount: the writable export covers it on the host, and the program may own that kernel.
    for (const CheckedShare& ro : checked) {
        if (ro.writable) continue;
        for (const CheckedShare& rw : checked) {
            if (rw.writable && host::is_within(ro.source.real_path, rw.source.real_path)) {
                problems.push_back({"fs_policy", "read-only '" + ro.source.real_path +
                                                     "' lies inside writable '" + rw.source.real_path +
                                                     "', which QEMU shares writable whole "
                                                     "(only the guest kernel would keep it read-only)"});
            }
        }
    }
    return checked;
}

Expected<std::vector<ShareSpec>> open_shares(const std::vector<CheckedShare>& checked,
                                             std::vector<host::UniqueFd>& fds) {
    std::vector<ShareSpec> out;
    for (const CheckedShare& c : checked) {
        RTFS_TRY(host::UniqueFd fd, host::open_checked_source(c.source.real_path, c.source.identity,
                                                              /*directory=*/true));
        out.push_back({"s" + std::to_string(out.size()), c.path, c.writable, fd.get()});
        fds.push_back(std::move(fd));
    }
    // Parents before children, so a share inside another is mounted on top of it.
    std::stable_sort(out.begin(), out.end(),
                     [](const ShareSpec& a, const ShareSpec& b) { return a.host_path.size() < b.host_path.size(); });
    return out;
}

}  // namespace microvm::qemu
