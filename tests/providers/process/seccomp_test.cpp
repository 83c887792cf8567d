// The seccomp filters on their own, installed in a forked child of the test (no sandbox): what
// the policy allows, what it refuses and with which errno. The sandbox-level proof that the
// filter (and not a missing capability) is what refuses each call is in
// process_provider_test.cpp (FilterIsWhatRefuses...).
#include "process/seccomp.hpp"

#include <errno.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <string>

#include "host/seccomp_policy.hpp"

namespace microvm::process {
namespace {

namespace policy = host::seccomp_policy;

bool same_program(const sock_fprog& a, const sock_fprog& b) {
    return a.len == b.len &&
           std::equal(a.filter, a.filter + a.len, b.filter, [](const sock_filter& x, const sock_filter& y) {
               return x.code == y.code && x.jt == y.jt && x.jf == y.jf && x.k == y.k;
           });
}

// The per-boot record of the compiled programs (raw bytes after the identity line) gives back
// exactly what was compiled: the first call writes or reads it, the second reads it.
TEST(SeccompRecord, TheRecordedProgramsAreTheCompiledOnes) {
    auto built = SeccompFilter::build(/*unix_sockets=*/false);
    ASSERT_TRUE(built) << built.error().message;
    for (int i = 0; i < 2; ++i) {
        auto cached = SeccompFilter::build_cached(/*unix_sockets=*/false);
        ASSERT_TRUE(cached) << cached.error().message;
        EXPECT_TRUE(same_program(cached->existence(), built->existence()));
        EXPECT_TRUE(same_program(cached->arguments(), built->arguments()));
    }
}

// Runs check() in a forked child under the filter; the child's exit code is check()'s result.
int under_filter(const SeccompFilter& filter, int (*check)()) {
    sock_fprog existence = filter.existence(), arguments = filter.arguments();
    pid_t pid = ::fork();
    if (pid == 0) {
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || !install_seccomp(&existence) ||
            !install_seccomp(&arguments)) {
            _exit(100);
        }
        _exit(check());
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 200 + WTERMSIG(status);
}

SeccompFilter restricted() {
    auto filter = SeccompFilter::build(/*unix_sockets=*/false);
    EXPECT_TRUE(filter) << filter.error().message;
    return std::move(*filter);
}

TEST(SeccompPolicy, NoReviewedDenialIsOnTheAllowList) {
    const auto& allowed = policy::allowed_syscalls();
    std::set<std::string_view> unique(allowed.begin(), allowed.end());
    EXPECT_EQ(unique.size(), allowed.size()) << "a call is listed twice";
    for (const policy::Denial& d : policy::reviewed_denials()) {
        EXPECT_FALSE(unique.count(d.name)) << d.name << " is both allowed and denied";
        EXPECT_FALSE(d.why.empty()) << d.name;
    }
    for (const char* name : {"io_uring_setup", "io_uring_enter", "io_uring_register", "mount",
                             "unshare", "ptrace", "bpf", "keyctl", "open_by_handle_at"}) {
        EXPECT_TRUE(std::any_of(policy::reviewed_denials().begin(),
                                policy::reviewed_denials().end(),
                                [&](const policy::Denial& d) { return d.name == name; }))
            << name;
    }
}

TEST(Seccomp, CallsOffTheAllowListFailWithEnosys) {
    SeccompFilter filter = restricted();
    EXPECT_GT(filter.instruction_count(), 50u);
    // io_uring (the example), a mount call, and calls newer than the allow list's review.
    EXPECT_EQ(under_filter(filter,
                           [] {
                               return ::syscall(SYS_io_uring_setup, 1, nullptr) == -1 &&
                                              errno == ENOSYS
                                          ? 0
                                          : 1;
                           }),
              0);
    EXPECT_EQ(under_filter(filter,
                           [] {
                               return ::syscall(SYS_mount, "none", "/", "tmpfs", 0, nullptr) ==
                                                  -1 &&
                                              errno == ENOSYS
                                          ? 0
                                          : 1;
                           }),
              0);
    EXPECT_EQ(under_filter(filter,
                           [] {
                               return ::syscall(SYS_clone3, nullptr, 0) == -1 && errno == ENOSYS
                                          ? 0
                                          : 1;
                           }),
              0);
    EXPECT_EQ(under_filter(filter,
                           [] {
                               // statmount (457, Linux 6.8): reviewed and denied.
                               return ::syscall(457, nullptr, nullptr, 0, 0) == -1 &&
                                              errno == ENOSYS
                                          ? 0
                                          : 1;
                           }),
              0);
}

TEST(Seccomp, RefusedArgumentFormsFailWithEperm) {
    SeccompFilter filter = restricted();
    EXPECT_EQ(under_filter(filter,
                           [] {
                               return ::syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0) ==
                                                  -1 &&
                                              errno == EPERM
                                          ? 0
                                          : 1;
                           }),
              0);
    EXPECT_EQ(under_filter(filter,
                           [] {
                               char c = 'x';
                               return ::ioctl(0, TIOCSTI, &c) == -1 && errno == EPERM ? 0 : 1;
                           }),
              0);
    EXPECT_EQ(under_filter(filter,
                           [] {
                               pid_t p = ::fork();
                               if (p == 0) _exit(7);
                               int st = 0;
                               ::waitpid(p, &st, 0);
                               return WIFEXITED(st) && WEXITSTATUS(st) == 7 ? 0 : 1;
                           }),
              0);
}

// Device nodes, even a 0:0 character device (an overlayfs whiteout, which any user may make),
// are refused: one planted in an rw= directory was the directory owner's, root's (red team,
// 2026-12-07). FIFOs and regular files are made as before. (The test runs as root, which the
// kernel would let make any device.)
TEST(Seccomp, DeviceNodesAreRefused) {
    SeccompFilter filter = restricted();
    EXPECT_EQ(under_filter(filter,
                           [] {
                               char dir[] = "/tmp/seccomp-node-XXXXXX";
                               if (::mkdtemp(dir) == nullptr) return 2;
                               const std::string at = std::string(dir) + "/n";
                               const bool chr = ::mknod(at.c_str(), S_IFCHR | 0644, 0) == -1 && errno == EPERM;
                               const bool blk = ::syscall(SYS_mknodat, AT_FDCWD, at.c_str(), S_IFBLK | 0600, ::makedev(7, 0)) == -1 &&
                                                errno == EPERM;
                               const bool fifo = ::mknod(at.c_str(), S_IFIFO | 0644, 0) == 0;
                               ::unlink(at.c_str());
                               const bool reg = ::syscall(SYS_mknodat, AT_FDCWD, at.c_str(), S_IFREG | 0644, 0) == 0;
                               // The same whiteout left by a rename (RENAME_WHITEOUT); a plain
                               // renameat2 works.
                               const std::string to = std::string(dir) + "/m";
                               const bool whiteout = ::syscall(SYS_renameat2, AT_FDCWD, at.c_str(), AT_FDCWD, to.c_str(), 4) == -1 &&
                                                     errno == EPERM;
                               const bool renamed = ::syscall(SYS_renameat2, AT_FDCWD, at.c_str(), AT_FDCWD, to.c_str(), 0) == 0;
                               ::unlink(at.c_str());
                               ::unlink(to.c_str());
                               ::rmdir(dir);
                               return chr && blk && fifo && reg && whiteout && renamed ? 0 : 1;
                           }),
              0);
}

// prlimit64 on another process with new limits is refused: the sandbox's init runs under the
// program's uid, which is all the kernel asks, and a program set the init's CPU limit to one
// second, so that the kernel killed it and the run lost its output and measurements (red team,
// 2026-12-07). Its own limits, and reading another's, stay allowed.
TEST(Seccomp, AnotherProcesssLimitsCannotBeSet) {
    SeccompFilter filter = restricted();
    EXPECT_EQ(under_filter(filter,
                           [] {
                               const pid_t child = ::fork();
                               if (child == 0) {
                                   ::pause();
                                   _exit(0);
                               }
                               struct rlimit one{1, 1}, got{};
                               const bool other = ::syscall(SYS_prlimit64, child, RLIMIT_CPU, &one, nullptr) == -1 &&
                                                  errno == EPERM;
                               const bool self_pid = ::syscall(SYS_prlimit64, ::getpid(), RLIMIT_CPU, &one, nullptr) == -1 &&
                                                     errno == EPERM;
                               const bool read = ::syscall(SYS_prlimit64, child, RLIMIT_CPU, nullptr, &got) == 0;
                               struct rlimit big{RLIM_INFINITY, RLIM_INFINITY};
                               ::getrlimit(RLIMIT_CPU, &big);
                               const bool own = ::setrlimit(RLIMIT_CPU, &big) == 0 &&
                                                ::syscall(SYS_prlimit64, 0, RLIMIT_CPU, &big, nullptr) == 0;
                               ::kill(child, SIGKILL);
                               ::waitpid(child, nullptr, 0);
                               return other && self_pid && read && own ? 0 : 1;
                           }),
              0);
}

// RLIMIT_CORE cannot be changed: it is 1, the value for which a core_pattern pipe handler is not
// started; a program that lowered it to 0 had its crashes piped to the host's handler, run as
// root outside every limit (red team, 2026-12-07). Setting it is answered 0 without being done
// (a sanitizer's runtime sets 0 at start and dies on a refusal). Reading it, and the other
// limits, stay.
TEST(Seccomp, TheCoreLimitCannotBeChanged) {
    SeccompFilter filter = restricted();
    EXPECT_EQ(under_filter(filter,
                           [] {
                               struct rlimit before{}, got{}, other{};
                               if (::getrlimit(RLIMIT_CORE, &before) != 0) return 1;
                               other = {before.rlim_cur == 5 ? 6u : 5u, before.rlim_cur == 5 ? 6u : 5u};
                               const auto unchanged = [&] {
                                   return ::getrlimit(RLIMIT_CORE, &got) == 0 && got.rlim_cur == before.rlim_cur &&
                                          got.rlim_max == before.rlim_max;
                               };
                               const bool set = ::setrlimit(RLIMIT_CORE, &other) == 0 && unchanged();
                               const bool prlimit = ::syscall(SYS_prlimit64, 0, RLIMIT_CORE, &other, nullptr) == 0 && unchanged();
                               // The kernel reads the resource as an unsigned int.
                               const bool high = ::syscall(SYS_setrlimit, 0x100000000ull | RLIMIT_CORE, &other) == 0 && unchanged();
                               const bool read = ::syscall(SYS_prlimit64, 0, RLIMIT_CORE, nullptr, &got) == 0;
                               struct rlimit files{};
                               const bool others = ::getrlimit(RLIMIT_NOFILE, &files) == 0 && ::setrlimit(RLIMIT_NOFILE, &files) == 0 &&
                                                   ::syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &files, nullptr) == 0;
                               return set && prlimit && high && read && others ? 0 : 1;
                           }),
              0);
}

// Host huge pages are a pool of the whole host, outside the memory controller: a sandbox could
// take every reserved one, uncounted (red team, 2026-12-06). Each call that asks for them is
// refused with EPERM (a host with none reserved answers ENOMEM, or makes the memfd); the same
// calls without the flag work.
TEST(Seccomp, HugePagesAreRefused) {
    SeccompFilter filter = restricted();
    EXPECT_EQ(under_filter(filter,
                           [] {
                               void* p = ::mmap(nullptr, 2 << 20, PROT_READ | PROT_WRITE,
                                                MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
                               return p == MAP_FAILED && errno == EPERM ? 0 : 1;
                           }),
              0);
    EXPECT_EQ(under_filter(filter,
                           [] {
                               return ::shmget(IPC_PRIVATE, 2 << 20, IPC_CREAT | SHM_HUGETLB | 0600) == -1 &&
                                              errno == EPERM
                                          ? 0
                                          : 1;
                           }),
              0);
    EXPECT_EQ(under_filter(filter,
                           [] {
                               return ::memfd_create("huge", MFD_HUGETLB) == -1 && errno == EPERM ? 0 : 1;
                           }),
              0);
    EXPECT_EQ(under_filter(filter,
                           [] {
                               void* p = ::mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE,
                                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                               const int fd = ::memfd_create("plain", 0);
                               return p != MAP_FAILED && fd >= 0 ? 0 : 1;
                           }),
              0);
}

// Runs check() in a forked child with no filter: the control of a test whose effect the filter
// takes away.
int unfiltered(int (*check)()) {
    pid_t pid = ::fork();
    if (pid == 0) _exit(check());
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 200 + WTERMSIG(status);
}

// The red team's eviction (2026-12-06): posix_fadvise(POSIX_FADV_DONTNEED) on any file a sandbox
// can read dropped its pages from the host's page cache (libLLVM, 112 MiB resident, to none).
// Under the filter the call says it did it and the pages stay; without it, they go (so the file
// system here is one the advice acts on, and the test could fail: /var/tmp, since the advice
// does nothing on a tmpfs, which /tmp is on many hosts).
int pages_left_after_dontneed() {
    char dir[] = "/var/tmp/seccomp-fadvise-XXXXXX";
    if (!::mkdtemp(dir)) return 10;
    const std::string f = std::string(dir) + "/f";
    constexpr size_t kBytes = 1 << 20;
    const std::string data(kBytes, 'x');
    int fd = ::open(f.c_str(), O_CREAT | O_RDWR, 0600);
    int result = 11;
    if (fd >= 0 && ::write(fd, data.data(), kBytes) == static_cast<ssize_t>(kBytes) && ::fsync(fd) == 0) {
        const int advised = ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        void* map = ::mmap(nullptr, kBytes, PROT_READ, MAP_SHARED, fd, 0);
        unsigned char resident[kBytes / 4096] = {};
        if (advised != 0) {
            result = 12;
        } else if (map == MAP_FAILED || ::mincore(map, kBytes, resident) != 0) {
            result = 13;
        } else {
            size_t in = 0;
            for (unsigned char page : resident) in += page & 1;
            result = in == sizeof resident ? 0 : in == 0 ? 1 : 2;  // all left, none, some
        }
        if (map != MAP_FAILED) ::munmap(map, kBytes);
    }
    if (fd >= 0) ::close(fd);
    ::unlink(f.c_str());
    ::rmdir(dir);
    return result;
}

TEST(Seccomp, DroppingAFilesPagesFromThePageCacheIsIgnored) {
    const int control = unfiltered(pages_left_after_dontneed);
    if (control == 0) GTEST_SKIP() << "the advice does not act on /var/tmp's file system here";
    ASSERT_EQ(control, 1);
    EXPECT_EQ(under_filter(restricted(), pages_left_after_dontneed), 0);
}

// The red team's lease (2026-12-06): a sandbox owns, through its mapping, the files of an rw=
// directory, and a lease on one made every host process opening it for writing wait 45 s.
int lease_answer() {
    char dir[] = "/tmp/seccomp-lease-XXXXXX";
    if (!::mkdtemp(dir)) return 10;
    const std::string f = std::string(dir) + "/f";
    int fd = ::open(f.c_str(), O_CREAT | O_RDONLY, 0600);
    int result = 11;
    if (fd >= 0) {
        const int rc = ::fcntl(fd, F_SETLEASE, F_RDLCK);
        result = rc == 0 ? 0 : errno == EPERM ? 1 : 2;
        if (rc == 0) ::fcntl(fd, F_SETLEASE, F_UNLCK);
        // F_SETDELEG (Linux 6.19; EINVAL before): refused by the filter whatever the kernel.
        if (result == 1 && !(::fcntl(fd, 1040, 0) == -1 && errno == EPERM)) result = 3;
        ::close(fd);
    }
    ::unlink(f.c_str());
    ::rmdir(dir);
    return result;
}

TEST(Seccomp, ALeaseOnAFileIsRefused) {
    EXPECT_EQ(unfiltered(lease_answer), 0);
    EXPECT_EQ(under_filter(restricted(), lease_answer), 1);
}

// The red team's local root: a sandbox with rw on a root-owned directory copied a shell there and
// made it setuid; files it writes belong to the directory's owner on the host. No call may set
// S_ISUID or S_ISGID; ordinary modes still work, and openat2 (mode in memory) is not there.
TEST(Seccomp, NoCallSetsTheSetuidOrSetgidBit) {
    SeccompFilter filter = restricted();
    EXPECT_EQ(under_filter(filter, [] {
                  char dir[] = "/tmp/seccomp-mode-XXXXXX";
                  if (!::mkdtemp(dir)) return 10;
                  const std::string f = std::string(dir) + "/f";
                  int fd = ::open(f.c_str(), O_CREAT | O_WRONLY, 0644);
                  if (fd < 0) return 11;
                  int failures = 0;
                  auto refused = [&](long rc) { failures += !(rc == -1 && errno == EPERM); };
                  refused(::chmod(f.c_str(), 04755));
                  refused(::chmod(f.c_str(), 02755));
                  refused(::fchmod(fd, 06755));
                  refused(::fchmodat(AT_FDCWD, f.c_str(), 04711, 0));
                  refused(::open((f + "2").c_str(), O_CREAT | O_WRONLY, 04755));
                  refused(::syscall(SYS_openat, AT_FDCWD, (f + "3").c_str(), O_CREAT | O_WRONLY, 02755));
                  refused(::creat((f + "4").c_str(), 04755));
                  refused(::mknod((f + "5").c_str(), S_IFREG | 04755, 0));
                  failures += ::chmod(f.c_str(), 0755) != 0;         // ordinary modes work
                  failures += ::fchmod(fd, 01777) != 0;              // the sticky bit too
                  failures += !(::syscall(SYS_openat2, AT_FDCWD, f.c_str(), nullptr, 0) == -1 &&
                                errno == ENOSYS);
                  struct stat st {};
                  ::fstat(fd, &st);
                  failures += (st.st_mode & 06000) != 0;
                  ::close(fd);
                  for (const char* suffix : {"", "2", "3", "4", "5"}) ::unlink((f + suffix).c_str());
                  ::rmdir(dir);
                  return failures;
              }),
              0);
}

// The red team's plant (2026-12-04): a sandbox with rw on a directory set a default ACL there
// (`setfacl -d -m o::rwx DIR`), and every file the host's root later created in it was
// world-writable whatever root's umask. No call sets an extended attribute; reading them works.
TEST(Seccomp, NoCallSetsAnExtendedAttributeSuchAsADefaultAcl) {
    SeccompFilter filter = restricted();
    EXPECT_EQ(under_filter(filter, [] {
                  char dir[] = "/tmp/seccomp-xattr-XXXXXX";
                  if (!::mkdtemp(dir)) return 10;
                  // other::rwx as the default ACL, in the kernel's xattr format (version 2).
                  const uint32_t acl[] = {2,          0x01, 7, ~0u, 0x04, 7, ~0u,
                                          0x20,       7,    ~0u};
                  const std::string f = std::string(dir) + "/f";
                  int fd = ::open(f.c_str(), O_CREAT | O_WRONLY, 0644);
                  if (fd < 0) return 11;
                  int failures = 0;
                  auto unsupported = [&](long rc) { failures += !(rc == -1 && errno == EOPNOTSUPP); };
                  unsupported(::setxattr(dir, "system.posix_acl_default", acl, sizeof acl, 0));
                  unsupported(::lsetxattr(dir, "system.posix_acl_access", acl, sizeof acl, 0));
                  unsupported(::fsetxattr(fd, "user.note", "x", 1, 0));
                  unsupported(::syscall(SYS_setxattr, f.c_str(), "user.note", "x", 1, 0));
                  char value[64];
                  failures += !(::getxattr(dir, "system.posix_acl_default", value, sizeof value) ==
                                    -1 &&
                                errno == ENODATA);  // none was set, and reading works
                  ::close(fd);
                  ::unlink(f.c_str());
                  ::rmdir(dir);
                  return failures;
              }),
              0);
}

TEST(Seccomp, PersonalityAllowsOnlyHarmlessValues) {
    SeccompFilter filter = restricted();
    EXPECT_EQ(under_filter(filter, [] { return ::personality(0xffffffff) != -1 ? 0 : 1; }), 0);
    EXPECT_EQ(under_filter(filter, [] { return ::personality(PER_LINUX) != -1 ? 0 : 1; }), 0);
    EXPECT_EQ(under_filter(filter, [] { return ::personality(PER_LINUX32) != -1 ? 0 : 1; }), 0);
    for (auto check :
         {+[] { return ::personality(ADDR_NO_RANDOMIZE) == -1 && errno == EPERM ? 0 : 1; },
          +[] { return ::personality(READ_IMPLIES_EXEC) == -1 && errno == EPERM ? 0 : 1; },
          +[] { return ::personality(0x80000000u | ADDR_NO_RANDOMIZE) == -1 ? 0 : 1; },
          +[] { return ::personality(0xfffffffeu) == -1 ? 0 : 1; }}) {
        EXPECT_EQ(under_filter(filter, check), 0);
    }
}

TEST(Seccomp, OnlyTheSocketFamiliesASandboxNeeds) {
    SeccompFilter filter = restricted();
    auto opens = [](int family, int type, int protocol) {
        int fd = ::socket(family, type, protocol);
        if (fd >= 0) ::close(fd);
        return fd >= 0 ? 0 : errno;
    };
    static decltype(opens)* probe;
    probe = &opens;
    EXPECT_EQ(under_filter(filter, [] { return (*probe)(AF_INET, SOCK_STREAM, 0); }), 0);
    EXPECT_EQ(under_filter(filter, [] { return (*probe)(AF_INET6, SOCK_DGRAM, 0); }), 0);
    EXPECT_EQ(under_filter(filter, [] { return (*probe)(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE); }),
              EAFNOSUPPORT);
    EXPECT_EQ(under_filter(filter, [] { return (*probe)(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT); }),
              EAFNOSUPPORT);
    EXPECT_EQ(under_filter(filter, [] { return (*probe)(AF_VSOCK, SOCK_STREAM, 0); }),
              EAFNOSUPPORT);
    EXPECT_EQ(under_filter(filter, [] { return (*probe)(AF_PACKET, SOCK_RAW, 0); }), EAFNOSUPPORT);
    EXPECT_EQ(under_filter(filter, [] { return (*probe)(AF_ALG, SOCK_SEQPACKET, 0); }),
              EAFNOSUPPORT);
    EXPECT_EQ(under_filter(filter, [] { return (*probe)(200, SOCK_STREAM, 0); }), EAFNOSUPPORT);
    // Bits above the int the kernel reads cannot smuggle a family past the rules.
    EXPECT_EQ(under_filter(filter,
                           [] {
                               long fd = ::syscall(SYS_socket, (1L << 32) | AF_VSOCK,
                                                   SOCK_STREAM, 0);
                               return fd >= 0 ? 0 : errno;
                           }),
              EAFNOSUPPORT);
    // AF_UNIX: refused unless the network is full; socketpair always works.
    EXPECT_EQ(under_filter(filter, [] { return (*probe)(AF_UNIX, SOCK_STREAM, 0); }), EPERM);
    EXPECT_EQ(under_filter(filter,
                           [] {
                               int sv[2];
                               return ::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0 ? 0 : errno;
                           }),
              0);
    auto full = SeccompFilter::build(/*unix_sockets=*/true);
    ASSERT_TRUE(full);
    EXPECT_EQ(under_filter(*full, [] { return (*probe)(AF_UNIX, SOCK_STREAM, 0); }), 0);
    EXPECT_EQ(under_filter(*full, [] { return (*probe)(AF_VSOCK, SOCK_STREAM, 0); }),
              EAFNOSUPPORT);
}

}  // namespace
}  // namespace microvm::process
