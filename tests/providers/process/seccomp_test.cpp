#include "process/seccomp.hpp"

#include <errno.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

namespace microvm::process {
namespace {

// Runs check() in a forked child under the filter; the child's exit code is check()'s result.
int under_filter(const SeccompFilter& filter, int (*check)()) {
    sock_fprog prog = filter.program();
    pid_t pid = ::fork();
    if (pid == 0) {
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || !install_seccomp(&prog)) _exit(100);
        _exit(check());
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 200 + WTERMSIG(status);
}

TEST(Seccomp, BuildsAFilterDenyingTheDocumentedCalls) {
    auto filter = SeccompFilter::build();
    ASSERT_TRUE(filter) << filter.error().message;
    EXPECT_GT(filter->instruction_count(), 10u);
    const auto& denied = SeccompFilter::denied_syscalls();
    for (const char* name : {"mount",
                             "umount2",
                             "pivot_root",
                             "move_mount",
                             "open_tree",
                             "fsopen",
                             "fsmount",
                             "fsconfig",
                             "fspick",
                             "mount_setattr",
                             "unshare",
                             "setns",
                             "add_key",
                             "request_key",
                             "keyctl",
                             "ptrace",
                             "process_vm_readv",
                             "process_vm_writev",
                             "kexec_load",
                             "kexec_file_load",
                             "init_module",
                             "finit_module",
                             "delete_module",
                             "bpf",
                             "perf_event_open",
                             "userfaultfd",
                             "reboot",
                             "swapon",
                             "swapoff",
                             "clock_settime",
                             "settimeofday",
                             "adjtimex",
                             "clock_adjtime",
                             "acct",
                             "quotactl",
                             "lookup_dcookie",
                             "syslog",
                             "iopl",
                             "ioperm",
                             "open_by_handle_at",
                             "name_to_handle_at"}) {
        EXPECT_NE(std::find(denied.begin(), denied.end(), name), denied.end()) << name;
    }
}

TEST(Seccomp, DeniesWithEpermAndLetsOrdinaryCallsThrough) {
    auto filter = SeccompFilter::build();
    ASSERT_TRUE(filter);
    EXPECT_EQ(under_filter(*filter,
                           [] { return ::unshare(CLONE_NEWUSER) == -1 && errno == EPERM ? 0 : 1; }),
              0);
    EXPECT_EQ(under_filter(*filter,
                           [] {
                               return ::syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0) ==
                                                  -1 &&
                                              errno == EPERM
                                          ? 0
                                          : 1;
                           }),
              0);
    // clone3 reports ENOSYS so that libc falls back to clone, whose flags are checked.
    EXPECT_EQ(
        under_filter(
            *filter,
            [] { return ::syscall(SYS_clone3, nullptr, 0) == -1 && errno == ENOSYS ? 0 : 1; }),
        0);
    EXPECT_EQ(under_filter(*filter,
                           [] {
                               char c = 'x';
                               return ::ioctl(0, TIOCSTI, &c) == -1 && errno == EPERM ? 0 : 1;
                           }),
              0);
    EXPECT_EQ(under_filter(*filter,
                           [] {
                               pid_t p = ::fork();
                               if (p == 0) _exit(7);
                               int st = 0;
                               ::waitpid(p, &st, 0);
                               return WIFEXITED(st) && WEXITSTATUS(st) == 7 ? 0 : 1;
                           }),
              0);
}

TEST(Seccomp, PersonalityAllowsOnlyHarmlessValues) {
    auto filter = SeccompFilter::build();
    ASSERT_TRUE(filter);
    EXPECT_EQ(under_filter(*filter, [] { return ::personality(0xffffffff) != -1 ? 0 : 1; }), 0);
    EXPECT_EQ(under_filter(*filter, [] { return ::personality(PER_LINUX) != -1 ? 0 : 1; }), 0);
    EXPECT_EQ(under_filter(*filter, [] { return ::personality(PER_LINUX32) != -1 ? 0 : 1; }), 0);
    for (auto check :
         {+[] { return ::personality(ADDR_NO_RANDOMIZE) == -1 && errno == EPERM ? 0 : 1; },
          +[] { return ::personality(READ_IMPLIES_EXEC) == -1 && errno == EPERM ? 0 : 1; },
          +[] { return ::personality(0x80000000u | ADDR_NO_RANDOMIZE) == -1 ? 0 : 1; },
          +[] { return ::personality(0xfffffffeu) == -1 ? 0 : 1; }}) {
        EXPECT_EQ(under_filter(*filter, check), 0);
    }
}

}  // namespace
}  // namespace microvm::process
