// The system-call policy of every sandboxed program, as data: the process provider compiles it
// with libseccomp (seccomp.hpp), the gvisor provider writes it as an OCI seccomp section.
//
// Default deny: a call not on the allow list fails with ENOSYS, so a system call added to a
// future kernel is unavailable until reviewed, and libc falls back as on an older kernel. The
// list is modelled on Docker's default profile, stricter where noted in docs/security.md
// (no io_uring or legacy aio, ptrace, process_vm_*, name_to_handle_at, adjtimex, keyring,
// memfd_secret). Allowed calls are further refused by argument with EPERM or EAFNOSUPPORT:
//   clone       with any CLONE_NEW* flag (clone3 is not allowed: its flags are in memory)
//   personality other than 0, PER_LINUX32, UNAME26, their combination and the query 0xffffffff
//   ioctl       TIOCSTI, TIOCLINUX, setting inode flags, encryption and verity (kDeniedIoctls)
//   fcntl       F_SETLEASE, F_SETDELEG (kDeniedCommands); fadvise64's POSIX_FADV_DONTNEED is
//               answered 0 without being done (kIgnoredArguments)
//   chmod, fchmod, fchmodat, fchmodat2, creat, open, openat, mknod, mknodat
//               with a mode holding S_ISUID or S_ISGID (openat2, whose mode is in memory, is
//               denied): a file a sandbox writes into an rw= directory belongs on the host to
//               the directory's owner, root often, so a setuid copy of a shell would be a root
//               shell for every user of the host
//   mknod, mknodat, renameat2
//               making a character or block device (kDeniedFileTypes), RENAME_WHITEOUT
//   prlimit64   setting another process's limits (kPrlimit); setting RLIMIT_CORE is answered 0
//               without being done (kCoreLimit), as setrlimit's
//   setxattr, lsetxattr, fsetxattr, setxattrat
//               always, with EOPNOTSUPP (kUnsupportedCalls says why)
//   socket      families other than AF_UNIX, AF_INET and AF_INET6: EAFNOSUPPORT (AF_NETLINK
//               too: the kernel does not charge a netlink socket's queued replies to the
//               sandbox's memory cgroup, so a program holding unread replies on many sockets,
//               8 MiB each, held gigabytes of the host's memory under a 32 MiB limit; libc's
//               getaddrinfo does without it); AF_UNIX itself (EPERM) unless the network policy
//               is full, because connect() to a host's socket file is checked only by file
//               permissions, which a bind mount cannot take away (socketpair() stays allowed).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace microvm::host::seccomp_policy {

// Names for the host architecture's ABI; names a libseccomp or kernel lacks are skipped.
const std::vector<std::string_view>& allowed_syscalls();

// Calls reviewed and kept off the allow list, with the reason (docs/security.md, tests).
struct Denial {
    std::string_view name;
    std::string_view why;
};
const std::vector<Denial>& reviewed_denials();

inline constexpr int kNotAllowedErrno = 38;  // ENOSYS

inline constexpr uint64_t kDeniedCloneFlags[] = {0x00020000 /* NEWNS */,
                                                 0x02000000 /* NEWCGROUP */,
                                                 0x04000000 /* NEWUTS */,
                                                 0x08000000 /* NEWIPC */,
                                                 0x10000000 /* NEWUSER */,
                                                 0x20000000 /* NEWPID */,
                                                 0x40000000 /* NEWNET */};
// personality(): bits that may be set (PER_LINUX32 | UNAME26), as Docker allows.
inline constexpr uint32_t kPersonalityAllowedBits = 0x0008 | 0x0020000;
inline constexpr uint32_t kPersonalityQuery = 0xffffffffu;
// ioctl(): typing into a terminal, and a file's inode attributes, which outlive the run on what
// an rw= bind holds: chattr +SDA on the bound directory itself (the program owns it through the
// idmapped mount) made every file the host wrote there later synchronous and dump-excluded (red
// team, 2026-12-07: 2000 small writes 6.8 s instead of 6 ms). Encryption policies and keys, and
// fs-verity (a file made read-only for good), likewise. EPERM; reading flags stays allowed.
inline constexpr unsigned long kDeniedIoctls[] = {
    0x5412 /* TIOCSTI */,           0x541C /* TIOCLINUX */,
    0x40086602 /* FS_IOC_SETFLAGS */, 0x40046602 /* FS_IOC32_SETFLAGS */,
    0x401c5820 /* FS_IOC_FSSETXATTR */, 0x40087602 /* FS_IOC_SETVERSION */,
    0x40047602 /* FS_IOC32_SETVERSION */, 0x800c6613 /* FS_IOC_SET_ENCRYPTION_POLICY */,
    0xc0506617 /* FS_IOC_ADD_ENCRYPTION_KEY */, 0x40806685 /* FS_IOC_ENABLE_VERITY */,
    // ext4's and f2fs's own names for the same (a review found EXT4_IOC_SETVERSION open).
    0x40086604 /* EXT4_IOC_SETVERSION */, 0x40046604 /* EXT4_IOC32_SETVERSION */,
    0x4004f50d /* F2FS_IOC_SET_PIN_FILE */,
};

// The mode bits no sandbox may set (S_ISUID, S_ISGID), and where each call takes its mode.
inline constexpr uint64_t kDeniedModeBits[] = {04000, 02000};
struct ModeArgument {
    std::string_view name;
    unsigned index;
};
inline constexpr ModeArgument kModeArguments[] = {
    {"chmod", 1}, {"fchmod", 1}, {"fchmodat", 2}, {"fchmodat2", 2}, {"creat", 1},
    {"open", 2},  {"openat", 3}, {"mknod", 1},    {"mknodat", 2}};

// mknod and mknodat: the file types no sandbox may make, character and block devices, compared
// under S_IFMT. Even without CAP_MKNOD any user may make a 0:0 character device (an overlayfs
// whiteout, Linux 5.8): one planted in an rw= directory was the directory owner's, root's often,
// and hides the file of that name wherever the directory becomes an overlay layer (red team,
// 2026-12-07). Regular files, FIFOs and sockets stay allowed.
inline constexpr uint64_t kFileTypeMask = 0170000;  // S_IFMT
inline constexpr uint64_t kDeniedFileTypes[] = {0020000 /* S_IFCHR */, 0060000 /* S_IFBLK */};
inline constexpr ModeArgument kNodeArguments[] = {{"mknod", 1}, {"mknodat", 2}};
constexpr bool makes_nodes(std::string_view name) {
    for (const ModeArgument& call : kNodeArguments)
        if (call.name == name) return true;
    return false;
}

// prlimit64 with another process's pid (argument 0 not 0) and new limits (argument 2 not NULL):
// EPERM. The kernel asks only that the uids match, and the sandbox's init runs under the
// program's uid: a program set the init's RLIMIT_CPU to 1 s and made it reap children until the
// kernel killed it, which erased the run's output and measurements (red team, 2026-12-07).
// A process's own limits (pid 0) and reading another's stay allowed.
struct Prlimit {
    std::string_view name = "prlimit64";
    unsigned pid_index = 0;
    unsigned new_limit_index = 2;
};
inline constexpr Prlimit kPrlimit{};

// RLIMIT_CORE stays what the sandbox was given (host/rlimits.hpp, kSandboxCoreLimit): setrlimit
// of it, or prlimit64 of it with new limits, is answered 0 without being done. Lowering it to 0,
// which a process may always do, started the host's core_pattern pipe handler again for every
// crash (red team, 2026-12-07); refusing it (EPERM) stopped every sanitizer-built program, whose
// runtime sets 0 at start and dies when it cannot. A limit of 1 already keeps every core, which
// is what lowering asks for; one raising it gets no core file in a sandbox either way. Reading it
// stays allowed. (The process provider; gVisor's sentry writes no core to the host.)
struct CoreLimit {
    std::string_view setrlimit = "setrlimit";
    unsigned setrlimit_resource_index = 0;
    unsigned prlimit_resource_index = 1;  // prlimit64(pid, resource, new, old): kPrlimit's call
    uint64_t resource = 4;                // RLIMIT_CORE
};
inline constexpr CoreLimit kCoreLimit{};

// Host huge pages: the host's hugetlb pool is shared by every process and lies outside the
// memory controller (always on v1; on v2 unless memory_hugetlb_accounting is set), so a sandbox
// on a host with huge pages reserved could take them all, uncounted in its memory (red team,
// 2026-12-06). The calls that ask for them, with the flag and where each takes it: EPERM.
struct FlagArgument {
    std::string_view name;
    unsigned index;
    uint64_t flag;
};
inline constexpr FlagArgument kDeniedFlagArguments[] = {
    {"mmap", 3, 0x40000 /* MAP_HUGETLB */},
    {"shmget", 2, 04000 /* SHM_HUGETLB */},
    {"memfd_create", 1, 0x0004 /* MFD_HUGETLB */}};

// renameat2 with RENAME_WHITEOUT leaves the same 0:0 character device as mknod where the source
// was (kDeniedFileTypes), needing no capability either (red team, 2026-12-07, after mknod was
// refused). EPERM. (QEMU's 9p protocol carries no rename flags.)
inline constexpr FlagArgument kDeniedRenameFlag{"renameat2", 4, 0x4 /* RENAME_WHITEOUT */};

// One value of one argument, as the calls below take it (compared as the int the kernel reads).
struct ArgumentValue {
    std::string_view name;
    unsigned index;
    uint64_t value;
};
// Answered as done without being done (the filter returns 0): posix_fadvise's
// POSIX_FADV_DONTNEED drops a file's pages from the page cache every process shares, and read
// access is all it asks: a sandbox emptied the host's cache of any file it could read (libLLVM,
// 112 MiB resident, to none), again and again (red team, 2026-12-06). It is a hint: ignoring it
// changes no result. (The process provider; gVisor's sentry keeps its own cache.)
inline constexpr ArgumentValue kIgnoredArguments[] = {{"fadvise64", 3, 4 /* POSIX_FADV_DONTNEED */}};
// Refused with EPERM: fcntl(F_SETLEASE), and F_SETDELEG (Linux 6.19: a delegation breaks as a
// lease does). The sandbox owns, through its mapping, the files of an rw= directory; a lease on
// one made every host process opening it for writing wait the kernel's lease-break time (45 s)
// (red team, 2026-12-06). (The process provider; the sentry has no host leases.)
inline constexpr ArgumentValue kDeniedCommands[] = {{"fcntl", 1, 1024 /* F_SETLEASE */},
                                                    {"fcntl", 1, 1040 /* F_SETDELEG */}};

// Setting extended attributes: EOPNOTSUPP, as on a file system without them (cp -a and tar carry
// on without). A default POSIX ACL (system.posix_acl_default) set on an rw= directory is
// inherited, whatever their umask, by the files the host's user (root, often) creates there
// later: a sandbox made the operator's future files world-writable, unseen by `ls -l`. The
// attribute's name is in memory the filter cannot read, so every name is refused. Reading and
// removing attributes stay allowed.
inline constexpr std::string_view kUnsupportedCalls[] = {"setxattr", "lsetxattr", "fsetxattr",
                                                         "setxattrat"};
inline constexpr int kUnsupportedErrno = 95;  // EOPNOTSUPP

inline constexpr int kFamilyUnix = 1, kFamilyInet = 2, kFamilyInet6 = 10;
inline constexpr int kAllowedFamilies[] = {kFamilyUnix, kFamilyInet, kFamilyInet6};
// Families from here on do not exist yet (AF_MAX of Linux 6.x is 46): all refused.
inline constexpr int kFirstUnknownFamily = 46;

}  // namespace microvm::host::seccomp_policy
