// A host child process (host/child_process.hpp): exactly the descriptors it is given, its CPU
// time from wait4, and no process outliving its owner.
#include "host/child_process.hpp"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

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
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    ASSERT_GE(null, 0);
    auto child = ChildProcess::spawn({"/bin/sh", {"/bin/sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"},
                                      {}, null, null, null});
    ::close(null);
    ASSERT_TRUE(child) << child.error().message;
    const ChildExit exit = child->wait();
    EXPECT_TRUE(WIFEXITED(exit.wait_status) && WEXITSTATUS(exit.wait_status) == 0);
    EXPECT_GT(cpu_time_of(exit.usage), std::chrono::milliseconds(10));
}

}  // namespace
}  // namespace microvm::host
