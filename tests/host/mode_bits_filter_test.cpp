// host::ModeBitsFilter (QEMU's filter): setuid and setgid bits refused in every call that takes a
// mode, openat2 refused, everything else allowed. Installed in a forked child (a filter cannot
// be removed), which reports each call's errno through its exit code.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "host/mode_bits_filter.hpp"

namespace {

// Runs call() in a child under the filter; returns the errno it left (0: it succeeded).
template <typename Call>
int errno_under_filter(const microvm::host::ModeBitsFilter& filter, Call call) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || !filter.install()) ::_exit(255);
        errno = 0;
        const long rc = call();
        ::_exit(rc >= 0 ? 0 : (errno & 0xff));
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#if defined(__x86_64__)
// Whether this kernel has the 32-bit system call entry at all (IA32 emulation can be built out
// or turned off at boot, as on kernel 6.18 machines here: `int $0x80` then ends the caller with
// SIGSEGV). Asked without any filter, with a harmless call (getpid is 20 there).
bool kernel_has_the_32_bit_entry() {
    const pid_t pid = ::fork();
    if (pid == 0) {
        long rc;
        asm volatile("int $0x80" : "=a"(rc) : "a"(20L) : "memory");
        ::_exit(rc > 0 ? 0 : 1);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}
#endif

TEST(ModeBitsFilter, SetuidAndSetgidBitsAreRefusedEverywhereAModeIsTaken) {
    const microvm::host::ModeBitsFilter filter;
    char tmpl[] = "/tmp/mode-bits-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    const std::string dir = tmpl, file = dir + "/f";
    ::close(::open(file.c_str(), O_CREAT | O_WRONLY, 0644));
    const char* f = file.c_str();

    EXPECT_EQ(errno_under_filter(filter, [&] { return ::chmod(f, 04755); }), EPERM);
    EXPECT_EQ(errno_under_filter(filter, [&] { return ::chmod(f, 02755); }), EPERM);
    EXPECT_EQ(errno_under_filter(filter, [&] { return ::syscall(SYS_fchmodat, AT_FDCWD, f, 06755, 0); }), EPERM);
    EXPECT_EQ(errno_under_filter(filter, [&] {
                  int fd = ::open(f, O_RDONLY);
                  return ::fchmod(fd, 04700);
              }),
              EPERM);
    EXPECT_EQ(errno_under_filter(filter, [&] {
                  return ::syscall(SYS_openat, AT_FDCWD, (dir + "/new").c_str(), O_CREAT | O_WRONLY, 04755);
              }),
              EPERM);
    EXPECT_EQ(errno_under_filter(filter, [&] { return ::syscall(SYS_mknodat, AT_FDCWD, (dir + "/p").c_str(), S_IFIFO | 02644, 0); }),
              EPERM);
    EXPECT_EQ(errno_under_filter(filter, [&] { return ::syscall(SYS_openat2, AT_FDCWD, f, nullptr, 0); }), ENOSYS);
    // io_uring's IORING_OP_OPENAT would carry a mode past the filter: no io_uring at all.
    EXPECT_EQ(errno_under_filter(filter, [&] {
                  char params[120] = {};  // struct io_uring_params
                  return ::syscall(SYS_io_uring_setup, 1, params);
              }),
              ENOSYS);
    // Every call that takes a mode, each at its own argument index.
    EXPECT_EQ(errno_under_filter(filter, [&] { return ::syscall(452 /* fchmodat2 */, AT_FDCWD, f, 04755, 0); }), EPERM);
#ifdef SYS_creat
    EXPECT_EQ(errno_under_filter(filter, [&] { return ::syscall(SYS_creat, (dir + "/c").c_str(), 04755); }), EPERM);
    EXPECT_EQ(errno_under_filter(filter, [&] { return ::syscall(SYS_open, (dir + "/o").c_str(), O_CREAT | O_WRONLY, 02755); }),
              EPERM);
    EXPECT_EQ(errno_under_filter(filter, [&] { return ::syscall(SYS_mknod, (dir + "/n").c_str(), S_IFIFO | 04644, 0); }),
              EPERM);
#endif
#if defined(__x86_64__)
    // The other ABIs on this architecture: x32 numbers, and the 32-bit entry (chmod is 15 there),
    // where the kernel has it (without it, no program can make a 32-bit call to filter).
    EXPECT_EQ(errno_under_filter(filter, [&] { return ::syscall(0x40000000 | SYS_chmod, f, 0755); }), EPERM);
    if (kernel_has_the_32_bit_entry()) {
        EXPECT_EQ(errno_under_filter(filter, [&] {
                      long rc;
                      asm volatile("int $0x80" : "=a"(rc) : "a"(15L), "b"(0L), "c"(04755L) : "memory");
                      if (rc < 0) errno = static_cast<int>(-rc);
                      return rc;
                  }),
                  EPERM);
    }
#endif
    // Device nodes: even a 0:0 character device (an overlayfs whiteout), which any user may make,
    // would be the share owner's on the host (red team, 2026-12-07). A FIFO and a regular file
    // go through.
    EXPECT_EQ(errno_under_filter(filter, [&] { return ::syscall(SYS_mknodat, AT_FDCWD, (dir + "/wh").c_str(), S_IFCHR | 0644, 0); }),
              EPERM);
    EXPECT_EQ(errno_under_filter(filter, [&] { return ::syscall(SYS_mknodat, AT_FDCWD, (dir + "/b").c_str(), S_IFBLK | 0600, ::makedev(7, 0)); }),
              EPERM);
#ifdef SYS_mknod
    EXPECT_EQ(errno_under_filter(filter, [&] { return ::syscall(SYS_mknod, (dir + "/wh2").c_str(), S_IFCHR | 0644, 0); }), EPERM);
#endif
    EXPECT_EQ(errno_under_filter(filter, [&] { return ::syscall(SYS_mknodat, AT_FDCWD, (dir + "/fifo").c_str(), S_IFIFO | 0644, 0); }), 0);
    EXPECT_EQ(errno_under_filter(filter, [&] { return ::syscall(SYS_mknodat, AT_FDCWD, (dir + "/reg").c_str(), S_IFREG | 0644, 0); }), 0);
    EXPECT_EQ(::access((dir + "/wh").c_str(), F_OK), -1);
    // Extended attributes: user.overlay.* set through a share hid files in a rootless overlay
    // built on the directory (red team, 2026-12-07). Reading and removing them still work.
    EXPECT_EQ(errno_under_filter(filter, [&] { return ::setxattr(dir.c_str(), "user.overlay.opaque", "y", 1, 0); }), EOPNOTSUPP);
    EXPECT_EQ(errno_under_filter(filter, [&] { return ::lsetxattr(f, "user.overlay.whiteout", "", 0, 0); }), EOPNOTSUPP);
    EXPECT_EQ(errno_under_filter(filter, [&] {
                  int fd = ::open(f, O_RDONLY);
                  return ::fsetxattr(fd, "user.x", "1", 1, 0);
              }),
              EOPNOTSUPP);
    if (::setxattr(f, "user.x", "1", 1, 0) == 0) {  // where the file system keeps them
        EXPECT_EQ(errno_under_filter(filter, [&] {
                      char v[4];
                      return ::getxattr(f, "user.x", v, sizeof v);
                  }),
                  0);
        EXPECT_EQ(errno_under_filter(filter, [&] { return ::removexattr(f, "user.x"); }), 0);
    }
    // Bits above the 16 the kernel reads of a mode are not the setuid bit.
    EXPECT_EQ(errno_under_filter(filter, [&] { return ::syscall(SYS_fchmodat, AT_FDCWD, f, (1L << 32) | 0755L, 0); }), 0);
    // Everything else goes through.
    EXPECT_EQ(errno_under_filter(filter, [&] { return ::chmod(f, 0700); }), 0);
    EXPECT_EQ(errno_under_filter(filter, [&] {
                  return ::syscall(SYS_openat, AT_FDCWD, (dir + "/plain").c_str(), O_CREAT | O_WRONLY, 0644);
              }),
              0);
    struct stat st {};
    ASSERT_EQ(::stat(f, &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    EXPECT_NE(::access((dir + "/plain").c_str(), F_OK), -1);
    EXPECT_EQ(::access((dir + "/new").c_str(), F_OK), -1);
    std::string rm = "rm -rf " + dir;
    EXPECT_EQ(std::system(rm.c_str()), 0);
}

}  // namespace
