// A host child process (host/child_process.hpp): exactly the descriptors it is given, its CPU
// time from wait4, and no process outliving its owner.
#include "host/child_process.hpp"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>

namespace microvm::host {
namespace {

TEST(ChildProcess, IsKilledAndReapedWithItsOwner) {
    pid_t pid;
    {
        int in[2], sink[2];
        ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
        ASSERT_EQ(::pipe2(sink, O_CLOEXEC), 0);
        auto child = ChildProcess::spawn({"/bin/sleep", {"/bin/sleep", "100"}, {}, in[0], sink[1], sink[1]});
        ASSERT_TRUE(child) << child.error().message;
        pid = child->pid();
        for (int fd : {in[0], in[1], sink[0], sink[1]}) ::close(fd);
    }
    EXPECT_NE(::kill(pid, 0), 0);
}

TEST(ChildProcess, ItsCpuTimeComesFromWait4) {
    auto child = ChildProcess::spawn({"/bin/sh", {"/bin/sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"},
                                      {}, kDevNull, kDevNull, kDevNull});
    ASSERT_TRUE(child) << child.error().message;
    const ChildExit exit = child->wait();
    EXPECT_TRUE(WIFEXITED(exit.wait_status) && WEXITSTATUS(exit.wait_status) == 0);
    EXPECT_GT(cpu_time_of(exit.usage), std::chrono::milliseconds(10));
}

// kDevNull asks spawn for /dev/null there (Firecracker's stdio, `qemu -version`'s stdin and
// stderr), and nothing else of the caller's comes along.
TEST(ChildProcess, KDevNullGivesTheChildDevNull) {
    int out[2];
    ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
    auto child = ChildProcess::spawn({"/bin/sh",
                                      {"/bin/sh", "-c", "readlink /proc/$$/fd/0 /proc/$$/fd/2; ls /proc/$$/fd"},
                                      {},
                                      kDevNull,
                                      out[1],
                                      kDevNull});
    ::close(out[1]);
    ASSERT_TRUE(child) << child.error().message;
    std::string text;
    char buf[256];
    ssize_t n;
    while ((n = ::read(out[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
    ::close(out[0]);
    EXPECT_EQ(child->wait().wait_status, 0);
    // 0-2 only: nothing else of the caller's.
    EXPECT_EQ(text, "/dev/null\n/dev/null\n0\n1\n2\n");
}

}  // namespace
}  // namespace microvm::host
