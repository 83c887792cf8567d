// A host child process (host/child_process.hpp): exactly the descriptors it is given, its CPU
// time from wait4, and no process outliving its owner.
#include "host/child_process.hpp"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <iterator>
#include <thread>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "support/expectations.hpp"

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

// A child forked by its owner (QEMU's launch) and adopted: killed and reaped as a spawned one,
// by its destructor too, with its CPU time from wait4.
TEST(ChildProcess, AnAdoptedChildIsKilledAndReapedWithItsOwner) {
    auto fork_sleeper = [] {
        const pid_t pid = ::fork();
        if (pid == 0) {
            ::execl("/bin/sleep", "sleep", "100", nullptr);
            ::_exit(127);
        }
        return pid;
    };
    const pid_t first = fork_sleeper();
    ASSERT_GT(first, 0);
    {
        ChildProcess child = ChildProcess::adopt(first);
        EXPECT_TRUE(child.running());
        EXPECT_GE(child.pidfd(), 0);
        EXPECT_FALSE(child.try_wait());
    }
    errno = 0;
    EXPECT_EQ(::waitpid(first, nullptr, WNOHANG), -1) << "the destructor reaped it";
    EXPECT_EQ(errno, ECHILD);

    ChildProcess second = ChildProcess::adopt(fork_sleeper());
    ASSERT_TRUE(second.running());
    second.kill();
    const ChildExit exit = second.wait();
    EXPECT_TRUE(WIFSIGNALED(exit.wait_status) && WTERMSIG(exit.wait_status) == SIGKILL)
        << describe_wait_status(exit.wait_status);
    EXPECT_FALSE(second.running());
}

// A host process (forked here) spawns a program that drops to uid 65534, as the Firecracker
// jailer does before it execs Firecracker, and dies by SIGKILL once the drop happened. Returns
// the program's pid (the host's view) and whether it is still alive 2 s later; the caller kills
// what is left.
struct Survivor {
    pid_t pid = -1;
    bool alive = false;
};
Survivor program_left_by_a_dead_host(bool own_pid_namespace) {
    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0) return {};
    const pid_t host = ::fork();
    if (host < 0) return {};
    if (host == 0) {
        int out[2];
        if (::pipe2(out, O_CLOEXEC) != 0) ::_exit(1);
        SpawnRequest req{"/usr/bin/setpriv",
                         {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/bin/sh", "-c",
                          "echo dropped; exec /bin/sleep 30"},
                         {},
                         kDevNull,
                         out[1],
                         kDevNull};
        req.dies_with_host_whatever_its_uid = own_pid_namespace;
        auto child = ChildProcess::spawn(req);
        if (!child) ::_exit(2);
        char line[16] = {};
        if (::read(out[0], line, sizeof line) <= 0) ::_exit(3);
        pid_t program = child->pid();
        if (own_pid_namespace) {  // the init's one child
            const std::string children =
                "/proc/" + std::to_string(child->pid()) + "/task/" + std::to_string(child->pid()) + "/children";
            FILE* f = std::fopen(children.c_str(), "r");
            if (!f || std::fscanf(f, "%d", &program) != 1) ::_exit(4);
        }
        if (::write(report[1], &program, sizeof program) != sizeof program) ::_exit(5);
        ::kill(::getpid(), SIGKILL);  // no destructor runs: the host dies
    }
    ::close(report[1]);
    Survivor s;
    if (::read(report[0], &s.pid, sizeof s.pid) != sizeof s.pid) s.pid = -1;
    ::close(report[0]);
    int status = 0;
    ::waitpid(host, &status, 0);
    if (s.pid <= 0) return s;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    do {
        std::string state;
        if (FILE* f = std::fopen(("/proc/" + std::to_string(s.pid) + "/stat").c_str(), "r")) {
            char buf[512] = {};
            const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
            std::fclose(f);
            const char* close = std::strrchr(buf, ')');
            if (n > 0 && close) state = std::string(close + 2, 1);
        }
        s.alive = !state.empty() && state != "Z";
        if (!s.alive) break;
        ::usleep(20'000);
    } while (std::chrono::steady_clock::now() < deadline);
    return s;
}

// The kernel clears the death signal of a process that changes its credentials: such a program
// outlived its host (the red team's finding, 2026-12-06: a jailed Firecracker ran on, its guest
// program with it, after microvmd was killed). In a pid namespace of its own whose init keeps
// the death signal, it dies with the host.
TEST(ChildProcess, AProgramThatChangesItsUidDiesWithItsHostInItsOwnPidNamespace) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "dropping to uid 65534 and a pid namespace need root");
    const Survivor plain = program_left_by_a_dead_host(false);
    ASSERT_GT(plain.pid, 0);
    if (plain.alive) ::kill(plain.pid, SIGKILL);
    EXPECT_TRUE(plain.alive) << "the kernel kept the death signal across the uid change: the attack is gone";
    const Survivor own_namespace = program_left_by_a_dead_host(true);
    ASSERT_GT(own_namespace.pid, 0);
    if (own_namespace.alive) ::kill(own_namespace.pid, SIGKILL);
    EXPECT_FALSE(own_namespace.alive) << "a program that dropped its uid outlived its host";
}

// Killed by its host, a program in a pid namespace of its own still has its CPU time in the
// wait4 of its init: the init ends and reaps it (a review: killing the init let the kernel reap
// the program unaccounted, and every jailed Firecracker run reported ~0 CPU and ~1 MB).
TEST(ChildProcess, KilledInItsOwnPidNamespaceItsCpuTimeIsKept) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "a pid namespace needs root");
    SpawnRequest req{"/bin/sh",
                     {"/bin/sh", "-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; exec /bin/sleep 30"},
                     {},
                     kDevNull,
                     kDevNull,
                     kDevNull};
    req.dies_with_host_whatever_its_uid = true;
    auto child = ChildProcess::spawn(req);
    ASSERT_TRUE(child) << child.error().message;
    // Until the loop is done: the init's one child is sleep (the shell exec'd it).
    const std::string children =
        "/proc/" + std::to_string(child->pid()) + "/task/" + std::to_string(child->pid()) + "/children";
    std::string cmdline;
    for (int i = 0; i < 500 && !cmdline.starts_with("/bin/sleep"); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        pid_t program = 0;
        if (FILE* f = std::fopen(children.c_str(), "r")) {
            if (std::fscanf(f, "%d", &program) != 1) program = 0;
            std::fclose(f);
        }
        if (program <= 0) continue;
        std::ifstream in("/proc/" + std::to_string(program) + "/cmdline");
        cmdline.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    ASSERT_TRUE(cmdline.starts_with("/bin/sleep")) << cmdline;
    const auto started = std::chrono::steady_clock::now();
    child->kill();
    const ChildExit exit = child->wait();
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(900)) << "the init did not end it";
    EXPECT_GT(cpu_time_of(exit.usage), std::chrono::milliseconds(100));  // the loop takes ~250 ms here
    EXPECT_TRUE(WIFEXITED(exit.wait_status) && WEXITSTATUS(exit.wait_status) == 128 + SIGKILL) << exit.wait_status;
}

// In its own pid namespace the program's exit is the init's: its code, or 128 + its signal.
TEST(ChildProcess, InItsOwnPidNamespaceItsExitIsPassedOn) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "a pid namespace needs root");
    for (const auto& [script, code] : {std::pair{"exit 7", 7}, std::pair{"kill -TERM $$", 128 + SIGTERM}}) {
        SpawnRequest req{"/bin/sh", {"/bin/sh", "-c", script}, {}, kDevNull, kDevNull, kDevNull};
        req.dies_with_host_whatever_its_uid = true;
        auto child = ChildProcess::spawn(req);
        ASSERT_TRUE(child) << child.error().message;
        const ChildExit exit = child->wait();
        EXPECT_TRUE(WIFEXITED(exit.wait_status)) << script;
        EXPECT_EQ(WEXITSTATUS(exit.wait_status), code) << script;
    }
    SpawnRequest missing{"/nonexistent/program", {"program"}, {}, kDevNull, kDevNull, kDevNull};
    missing.dies_with_host_whatever_its_uid = true;
    auto refused = ChildProcess::spawn(missing);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("exec"), std::string::npos) << refused.error().message;
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
