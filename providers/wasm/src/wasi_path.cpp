// path_*: file-system operations below a directory descriptor. Every path is resolved with
// confined_path (no escape through "..", absolute paths or symlinks); mutating operations need
// the matching WASI right, which descriptors below a read-only preopen never have.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <string>

#include "confined_path.hpp"
#include "host/kernel_interface.hpp"
#include "wasi.hpp"
#include "wasi_abi.hpp"

namespace microvm::wasm {
namespace {

using wabt::interp::Values;
namespace r = wasi::rights;

// Resolver errors: an escape attempt (EXDEV) is a capability violation for the guest.
uint32_t resolve_errno(int e) {
    return e == EXDEV ? wasi::kNotcapable : wasi::from_host_errno(e);
}

uint32_t dir_lookup(RunState& s, uint32_t fd, uint64_t needed, FdEntry*& out) {
    out = s.fds.get(fd);
    if (!out) return wasi::kBadf;
    if (out->kind != FdKind::Directory) return wasi::kNotdir;
    if (!out->has(needed)) return wasi::kNotcapable;
    if (out->read_only_tree && (needed & r::kMutating)) return wasi::kNotcapable;
    return wasi::kSuccess;
}

uint32_t guest_path(RunState& s, uint32_t ptr, uint32_t len, std::string& out) {
    // No longer than the kernel takes (PATH_MAX): the component walk used where openat2 is
    // missing would otherwise hold one string per component of a path as long as linear memory.
    if (len >= PATH_MAX) return wasi::kNametoolong;
    auto text = s.mem().string(ptr, len);
    if (!text) return wasi::kFault;
    out.assign(*text);
    return wasi::kSuccess;
}

// The kernel's own interfaces are never a guest's files, whatever the policy grants (`full`):
// the engine runs in the host process, so /proc/self/mem is the host's memory, and the others
// tune the host's kernel (a mkdir in cgroupfs or tracefs, an unlink in bpffs unpins a program).
// Judged on every descriptor a path call acts through or on (red team, 2026-12-04).
bool on_kernel_interface(int fd) { return host::kernel_interface_of(fd) != nullptr; }

// The directory fd and its path argument, resolved to (parent, name), for *at() calls; EACCES
// when the parent lies on a kernel interface.
uint32_t parent_of(RunState& s, const Values& p, size_t fd_i, size_t path_i, uint64_t needed,
                   ParentAndName& out) {
    FdEntry* dir = nullptr;
    if (uint32_t err = dir_lookup(s, u32_at(p, fd_i), needed, dir)) return err;
    std::string path;
    if (uint32_t err = guest_path(s, u32_at(p, path_i), u32_at(p, path_i + 1), path)) return err;
    if (int e = resolve_parent(dir->host.get(), path, out)) return resolve_errno(e);
    if (on_kernel_interface(out.parent.get())) return wasi::kAcces;
    return wasi::kSuccess;
}

// Before path_open opens anything: opening runs the driver's open handler, and O_TRUNC or
// O_CREAT act, even when the descriptor is then refused (a "refused" O_TRUNC of tracefs's
// `trace` had wiped the trace buffer). The object is first looked up with O_PATH, which runs
// none of that; a file about to be created is judged by its directory.
// The kernel's own bound on links followed in one lookup (MAXSYMLINKS): every chain of dangling
// links the open would follow is judged to its end, and a longer one fails in the lookup itself
// (ELOOP). The count here only ends a chain that another process changes while it is followed.
constexpr int kMaxLinksFollowed = 40;

uint32_t judge_before_open(int dir, const std::string& path, bool follow, bool create, int depth = 0) {
    UniqueFd probe;
    const int e = open_beneath(dir, path, O_PATH, 0, follow, probe);
    if (e == ENOENT && create) {
        ParentAndName at;
        if (int r = resolve_parent(dir, path, at); r != 0) return r == EACCES ? wasi::kAcces : wasi::kSuccess;
        if (on_kernel_interface(at.parent.get())) return wasi::kAcces;
        // O_CREAT through a dangling symlink creates its target: judged where that is (a link
        // to a new mqueue file made a host message queue, red team 2026-12-04). An absolute
        // target is refused by the open itself (beneath the preopen).
        char target[PATH_MAX];
        const ssize_t n = follow ? readlinkat(at.parent.get(), at.name.c_str(), target, sizeof target) : -1;
        if (n <= 0 || static_cast<size_t>(n) >= sizeof target || target[0] == '/') return wasi::kSuccess;
        if (depth >= kMaxLinksFollowed) return wasi::kAcces;
        const size_t slash = path.find_last_of('/');
        const std::string next =
            (slash == std::string::npos ? std::string() : path.substr(0, slash + 1)) + std::string(target, n);
        return judge_before_open(dir, next, follow, create, depth + 1);
    }
    if (e == EACCES) return wasi::kAcces;  // the host process's private files, say
    if (e) return wasi::kSuccess;          // the open itself reports it
    struct stat st;
    if (fstat(probe.get(), &st) != 0) return wasi::from_host_errno(errno);
    if (on_kernel_interface(probe.get())) return wasi::kAcces;
    // Devices, FIFOs and sockets: their open could block or act. A symlink here is one the
    // open will not follow (it fails there).
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode)) return wasi::kNotsup;
    return wasi::kSuccess;
}

int open_flags(uint64_t base, uint32_t oflags, uint32_t fdflags) {
    bool read = base & (r::kFdRead | r::kFdReaddir);
    bool write = base & (r::kFdWrite | r::kFdAllocate | r::kFdFilestatSetSize);
    int flags = read && write ? O_RDWR : write ? O_WRONLY : O_RDONLY;
    if (oflags & wasi::kOflagDirectory) flags = O_RDONLY | O_DIRECTORY;
    if (oflags & wasi::kOflagCreat) flags |= O_CREAT;
    if (oflags & wasi::kOflagExcl) flags |= O_EXCL;
    if (oflags & wasi::kOflagTrunc) flags |= O_TRUNC;
    if (fdflags & wasi::kFdflagAppend) flags |= O_APPEND;
    if (fdflags & wasi::kFdflagDsync) flags |= O_DSYNC;
    if (fdflags & wasi::kFdflagSync) flags |= O_SYNC;
    // Always non-blocking while opening (a FIFO would block the engine), see path_open.
    return flags | O_NONBLOCK;
}

uint32_t path_open(RunState& s, const Values& p) {
    FdEntry* dir = nullptr;
    if (uint32_t err = dir_lookup(s, u32_at(p, 0), r::kPathOpen, dir)) return err;
    const uint32_t dirflags = u32_at(p, 1), oflags = u32_at(p, 4), fdflags = u32_at(p, 7);
    if ((oflags & wasi::kOflagCreat) && !dir->has(r::kPathCreateFile)) return wasi::kNotcapable;
    if ((oflags & wasi::kOflagTrunc) && !dir->has(r::kPathFilestatSetSize)) {
        return wasi::kNotcapable;
    }
    if (dir->read_only_tree && (oflags & (wasi::kOflagCreat | wasi::kOflagTrunc))) {
        return wasi::kNotcapable;
    }
    // A descriptor never has more rights than its directory passes on.
    uint64_t base = u64_at(p, 5) & dir->rights_inheriting;
    uint64_t inheriting = u64_at(p, 6) & dir->rights_inheriting;
    if (dir->read_only_tree) {
        base &= ~r::kMutating;
        inheriting &= ~r::kMutating;
    }
    std::string path;
    if (uint32_t err = guest_path(s, u32_at(p, 2), u32_at(p, 3), path)) return err;

    const bool follow = dirflags & wasi::kLookupSymlinkFollow;
    if (uint32_t err = judge_before_open(dir->host.get(), path, follow, oflags & wasi::kOflagCreat)) return err;
    UniqueFd fd;
    int e = open_beneath(dir->host.get(), path, open_flags(base, oflags, fdflags), 0666, follow, fd);
    if (e) return resolve_errno(e);
    struct stat st;
    if (fstat(fd.get(), &st) != 0) return wasi::from_host_errno(errno);
    // Again on what was opened (judge_before_open looked the name up once already).
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) return wasi::kNotsup;
    if (on_kernel_interface(fd.get())) return wasi::kAcces;
    // The host descriptor stays non-blocking whatever the guest asked (its flag is only
    // recorded): a regular file ignores it, and a kernel object that looks like one could
    // otherwise block the engine's thread past the deadline.

    FdEntry entry;
    entry.kind = S_ISDIR(st.st_mode) ? FdKind::Directory : FdKind::File;
    entry.host = std::move(fd);
    entry.rights_base = base & (S_ISDIR(st.st_mode) ? r::kDirAll : r::kFileAll);
    entry.rights_inheriting = inheriting;
    entry.fdflags = static_cast<uint16_t>(fdflags & (wasi::kFdflagAppend | wasi::kFdflagNonblock));
    entry.read_only_tree = dir->read_only_tree;
    auto guest_fd = s.fds.add(std::move(entry));
    if (!guest_fd) return wasi::kMfile;
    if (!s.mem().store<uint32_t>(u32_at(p, 8), *guest_fd)) {
        s.fds.close(*guest_fd);
        return wasi::kFault;
    }
    return wasi::kSuccess;
}

uint32_t path_filestat_get(RunState& s, const Values& p) {
    FdEntry* dir = nullptr;
    if (uint32_t err = dir_lookup(s, u32_at(p, 0), r::kPathFilestatGet, dir)) return err;
    std::string path;
    if (uint32_t err = guest_path(s, u32_at(p, 2), u32_at(p, 3), path)) return err;
    UniqueFd fd;
    bool follow = u32_at(p, 1) & wasi::kLookupSymlinkFollow;
    if (int e = open_beneath(dir->host.get(), path, O_PATH, 0, follow, fd)) return resolve_errno(e);
    if (on_kernel_interface(fd.get())) return wasi::kAcces;
    struct stat st;
    if (fstat(fd.get(), &st) != 0) return wasi::from_host_errno(errno);
    return wasi::store_filestat(s.mem(), u32_at(p, 4), st) ? wasi::kSuccess : wasi::kFault;
}

// Sets the times of what fd (an O_PATH descriptor, judged) names through a descriptor opened
// from it, never by a path: Landlock governs no file's times, so the engine's seccomp filter
// allows utimensat without a path only, and by path an engine its module took over set the
// times of any file of the host. Only files and directories are opened for it (opening a device
// node can act on the device); a symlink's own times would need a path: ENOTSUP.
uint32_t set_times_through(int fd, const timespec times[2]) {
    struct stat st;
    if (fstat(fd, &st) != 0) return wasi::from_host_errno(errno);
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) return wasi::kNotsup;
    // The inode resolved, through its /proc magic link (futimens refuses O_PATH descriptors);
    // Landlock judges the open as any other.
    char proc_path[64];
    std::snprintf(proc_path, sizeof proc_path, "/proc/self/fd/%d", fd);
    const int flags = O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0);
    UniqueFd opened(open(proc_path, O_RDONLY | flags));
    if (!opened.valid() && errno == EACCES && S_ISREG(st.st_mode)) opened.reset(open(proc_path, O_WRONLY | flags));
    if (!opened.valid()) return wasi::from_host_errno(errno);
    if (futimens(opened.get(), times) != 0) return wasi::from_host_errno(errno);
    return wasi::kSuccess;
}

uint32_t path_filestat_set_times(RunState& s, const Values& p) {
    FdEntry* dir = nullptr;
    if (uint32_t err = dir_lookup(s, u32_at(p, 0), r::kPathFilestatSetTimes, dir)) return err;
    std::string path;
    if (uint32_t err = guest_path(s, u32_at(p, 2), u32_at(p, 3), path)) return err;
    timespec times[2];
    wasi::to_timespecs(u64_at(p, 4), u64_at(p, 5), u32_at(p, 6), times);
    const bool follow = u32_at(p, 1) & wasi::kLookupSymlinkFollow;
    if (!follow) {
        // The entry itself: its name in its confined parent.
        ParentAndName at;
        if (int e = resolve_parent(dir->host.get(), path, at)) return resolve_errno(e);
        if (on_kernel_interface(at.parent.get())) return wasi::kAcces;
        if (!at.trailing_slash) {
            // The name itself may be the root of a kernel file system mounted here.
            // Judged or refused: with the host's descriptors used up (EMFILE) the check was
            // skipped and /proc's own times were set (red team, 2026-12-05).
            UniqueFd entry(openat(at.parent.get(), at.name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
            if (!entry.valid()) return wasi::from_host_errno(errno);
            if (on_kernel_interface(entry.get())) return wasi::kAcces;
            return set_times_through(entry.get(), times);
        }
        // "name/" names what a symlink points to, as with follow.
    }
    UniqueFd fd;
    if (int e = open_beneath(dir->host.get(), path, O_PATH, 0, true, fd)) return resolve_errno(e);
    if (on_kernel_interface(fd.get())) return wasi::kAcces;
    return set_times_through(fd.get(), times);
}

uint32_t path_create_directory(RunState& s, const Values& p) {
    ParentAndName at;
    if (uint32_t err = parent_of(s, p, 0, 1, r::kPathCreateDirectory, at)) return err;
    if (mkdirat(at.parent.get(), at.name.c_str(), 0777) != 0) return wasi::from_host_errno(errno);
    return wasi::kSuccess;
}

uint32_t path_unlink_file(RunState& s, const Values& p) {
    ParentAndName at;
    if (uint32_t err = parent_of(s, p, 0, 1, r::kPathUnlinkFile, at)) return err;
    if (at.trailing_slash) return wasi::kNotdir;
    if (unlinkat(at.parent.get(), at.name.c_str(), 0) != 0) return wasi::from_host_errno(errno);
    return wasi::kSuccess;
}

uint32_t path_remove_directory(RunState& s, const Values& p) {
    ParentAndName at;
    if (uint32_t err = parent_of(s, p, 0, 1, r::kPathRemoveDirectory, at)) return err;
    if (unlinkat(at.parent.get(), at.name.c_str(), AT_REMOVEDIR) != 0) {
        return wasi::from_host_errno(errno);
    }
    return wasi::kSuccess;
}

uint32_t path_rename(RunState& s, const Values& p) {
    ParentAndName from, to;
    if (uint32_t err = parent_of(s, p, 0, 1, r::kPathRenameSource, from)) return err;
    if (uint32_t err = parent_of(s, p, 3, 4, r::kPathRenameTarget, to)) return err;
    if (renameat(from.parent.get(), from.name.c_str(), to.parent.get(), to.name.c_str()) != 0) {
        return wasi::from_host_errno(errno);
    }
    return wasi::kSuccess;
}

// Hard links never follow a symlink at the source (that could reach outside the tree).
uint32_t path_link(RunState& s, const Values& p) {
    if (u32_at(p, 1) & wasi::kLookupSymlinkFollow) return wasi::kNotsup;
    ParentAndName from, to;
    if (uint32_t err = parent_of(s, p, 0, 2, r::kPathLinkSource, from)) return err;
    if (uint32_t err = parent_of(s, p, 4, 5, r::kPathLinkTarget, to)) return err;
    if (linkat(from.parent.get(), from.name.c_str(), to.parent.get(), to.name.c_str(), 0) != 0) {
        return wasi::from_host_errno(errno);
    }
    return wasi::kSuccess;
}

uint32_t path_readlink(RunState& s, const Values& p) {
    ParentAndName at;
    if (uint32_t err = parent_of(s, p, 0, 1, r::kPathReadlink, at)) return err;
    char buf[4096];
    ssize_t n = readlinkat(at.parent.get(), at.name.c_str(), buf, sizeof buf);
    if (n < 0) return wasi::from_host_errno(errno);
    uint32_t len = std::min<uint32_t>(static_cast<uint32_t>(n), u32_at(p, 4));
    GuestMemory m = s.mem();
    if (!m.write(u32_at(p, 3), buf, len) || !m.store<uint32_t>(u32_at(p, 5), len)) {
        return wasi::kFault;
    }
    return wasi::kSuccess;
}

// Absolute targets are refused: such a link could only ever point outside the sandbox.
uint32_t path_symlink(RunState& s, const Values& p) {
    std::string target;
    if (uint32_t err = guest_path(s, u32_at(p, 0), u32_at(p, 1), target)) return err;
    if (target.empty() || target.find('\0') != std::string::npos) return wasi::kInval;
    if (target.front() == '/') return wasi::kNotcapable;
    ParentAndName at;
    if (uint32_t err = parent_of(s, p, 2, 3, r::kPathSymlink, at)) return err;
    if (symlinkat(target.c_str(), at.parent.get(), at.name.c_str()) != 0) {
        return wasi::from_host_errno(errno);
    }
    return wasi::kSuccess;
}

constexpr HostFunction kFunctions[] = {
    {"path_open", "iiiiiIIii", path_open},
    {"path_filestat_get", "iiiii", path_filestat_get},
    {"path_filestat_set_times", "iiiiIIi", path_filestat_set_times},
    {"path_create_directory", "iii", path_create_directory},
    {"path_unlink_file", "iii", path_unlink_file},
    {"path_remove_directory", "iii", path_remove_directory},
    {"path_rename", "iiiiii", path_rename},
    {"path_link", "iiiiiii", path_link},
    {"path_readlink", "iiiiii", path_readlink},
    {"path_symlink", "iiiii", path_symlink},
};

}  // namespace

std::span<const HostFunction> wasi_path_functions() {
    return kFunctions;
}

}  // namespace microvm::wasm
