// The real guest agent (microvm-guest --channel-fd) driven by the host's AgentSession over a
// socketpair: the same pair a VM backend uses over virtio-serial or vsock, here without the VM.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "host/agent_session.hpp"

namespace microvm::host {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using End = AgentRun::End;

// Starts the agent in channel mode on the far end of a socketpair; returns its pid and sets
// host_end.
pid_t spawn_agent(int& host_end) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return -1;
    pid_t pid = ::fork();
    if (pid == 0) {
        constexpr int kFd = 5;
        // dup2 clears close-on-exec, except onto itself.
        if (sv[1] == kFd) {
            ::fcntl(kFd, F_SETFD, 0);
        } else {
            ::dup2(sv[1], kFd);
        }
        ::execl(MICROVM_GUEST_BIN, "microvm-guest", "--channel-fd", "5", nullptr);
        ::_exit(127);
    }
    ::close(sv[1]);
    host_end = sv[0];
    return pid;
}

class GuestAgent : public ::testing::Test {
  protected:
    void SetUp() override {
        int host_end = -1;
        pid_ = spawn_agent(host_end);
        ASSERT_GE(pid_, 0);
        session_.emplace(UniqueFd(host_end));
        auto hello = session_->handshake(Clock::now() + 10s);
        ASSERT_TRUE(hello.has_value()) << hello.error().message;
        EXPECT_EQ(hello->kinds, (std::vector<std::string>{"rtfs", "program", "script"}));
    }
    void TearDown() override {
        session_.reset();  // EOF on the channel: the agent exits 0
        if (pid_ > 0) {
            int status = 0;
            ::waitpid(pid_, &status, 0);
            EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
        }
    }

    AgentRun run(guest::Exec exec, AgentLimits limits = {}) {
        if (limits.deadline == Clock::time_point{}) limits.deadline = Clock::now() + 20s;
        return session_->run(exec, limits);
    }

    static guest::Exec program(std::vector<std::string> argv, std::vector<std::string> env = {}) {
        guest::Exec e;
        e.kind = guest::Exec::Kind::Program;
        e.argv = std::move(argv);
        e.env = std::move(env);
        return e;
    }

    pid_t pid_ = -1;
    std::optional<AgentSession> session_;
};

TEST_F(GuestAgent, RunsAProgramWithExactlyItsEnvironmentAndCwd) {
    guest::Exec e = program({"env"}, {"PATH=/usr/bin:/bin", "ONLY=this"});
    AgentRun r = run(e);
    EXPECT_EQ(r.end, End::Exited);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.stdout_data.data, "PATH=/usr/bin:/bin\nONLY=this\n");
    ASSERT_TRUE(r.usage);

    e = program({"/bin/sh", "-c", "pwd; exit 7"});
    e.cwd = "/tmp";
    r = run(e);
    EXPECT_EQ(r.end, End::Exited);
    EXPECT_EQ(r.exit_code, 7);
    EXPECT_EQ(r.stdout_data.data, "/tmp\n");
}

TEST_F(GuestAgent, FeedsStdinAndStreamsBothOutputs) {
    AgentLimits limits;
    limits.stdin_data = std::string(300000, 'a') + "end";
    std::string streamed;
    limits.on_output = [&](OutputStream s, std::string_view c) {
        if (s == OutputStream::Stderr) streamed.append(c);
    };
    AgentRun r = run(program({"/bin/sh", "-c", "cat; echo oops >&2"}), limits);
    EXPECT_EQ(r.end, End::Exited);
    EXPECT_EQ(r.stdout_data.data, *limits.stdin_data);
    EXPECT_EQ(r.stderr_data.data, "oops\n");
    EXPECT_EQ(streamed, "oops\n");
}

TEST_F(GuestAgent, WithoutStdinFramesTheProgramReadsEof) {
    AgentRun r = run(program({"/bin/sh", "-c", "cat; echo done"}));
    EXPECT_EQ(r.end, End::Exited);
    EXPECT_EQ(r.stdout_data.data, "done\n");
}

TEST_F(GuestAgent, MissingAndNonExecutableProgramsAreRefusedWithTheirReason) {
    AgentRun r = run(program({"/nonexistent/tool"}));
    ASSERT_EQ(r.end, End::Refused);
    EXPECT_EQ(r.refused->reason, Reason::ProgramNotFound);
    r = run(program({"no-such-command-here"}));
    ASSERT_EQ(r.end, End::Refused);
    EXPECT_EQ(r.refused->reason, Reason::ProgramNotFound);
    r = run(program({"/tmp"}));
    ASSERT_EQ(r.end, End::Refused);
    EXPECT_EQ(r.refused->reason, Reason::NotExecutable);
    guest::Exec e = program({"/bin/true"});
    e.cwd = "/nonexistent";
    r = run(e);
    ASSERT_EQ(r.end, End::Refused);
    EXPECT_EQ(r.refused->reason, Reason::SetupError);
    // The agent keeps serving after refusals.
    EXPECT_EQ(run(program({"/bin/true"})).end, End::Exited);
}

TEST_F(GuestAgent, RunsScriptsThroughTheSharedInterpreterTable) {
    guest::Exec e;
    e.kind = guest::Exec::Kind::Script;
    e.language = "sh";
    e.source = "echo \"$0:$1\"";
    e.args = {"arg one"};
    AgentRun r = run(e);
    EXPECT_EQ(r.end, End::Exited);
    EXPECT_EQ(r.stdout_data.data, "sh:arg one\n");
    e.language = "cobol";
    r = run(e);
    ASSERT_EQ(r.end, End::Refused);
    EXPECT_EQ(r.refused->reason, Reason::InvalidProgram);
}

TEST_F(GuestAgent, RunsRtfsWithPrintlnAsOutputAndAResultFrame) {
    guest::Exec e;
    e.job.source = "(do (call :ccos.io.println \"hi\") (+ 1 (first *args*)))";
    e.job.args = {"41"};
    e.job.runtime_context = rtfs::RuntimeContext::controlled({"ccos.io.println"});
    AgentRun r = run(e);
    EXPECT_EQ(r.end, End::Exited);
    EXPECT_EQ(r.stdout_data.data, "hi\n");
    ASSERT_TRUE(r.result);
    auto result = guest::decode_result(*r.result);
    ASSERT_TRUE(result.has_value()) << result.error().message;
    EXPECT_TRUE(result->ok);
    EXPECT_EQ(result->value, "42");
}

// An RTFS job is evaluated in a child that never execs, so close-on-exec closed nothing: it held
// the run cgroup's cgroup.procs opened by root (enough to move the agent into the run's cgroup)
// and the status pipe (enough to fake "never started"). It keeps 0-2 and its result pipe only.
TEST_F(GuestAgent, AnRtfsJobHoldsNoDescriptorOfTheAgentsButItsResultPipe) {
    guest::Exec e;
    e.job.source =
        "(reduce (fn [open n] (if (call :ccos.io.file-exists (str \"/proc/self/fd/\" n)) (conj open n) open)) "
        "[] (range 3 256))";
    e.job.runtime_context = rtfs::RuntimeContext::controlled({"ccos.io.file-exists"});
    AgentRun r = run(e);
    EXPECT_EQ(r.end, End::Exited) << r.problem;
    ASSERT_TRUE(r.result);
    auto result = guest::decode_result(*r.result);
    ASSERT_TRUE(result.has_value()) << result.error().message;
    EXPECT_TRUE(result->ok) << result->value;
    EXPECT_EQ(result->value, "[3]");
}

TEST_F(GuestAgent, TimeoutKillsTheProgramAndTheAgentServesTheNextRun) {
    AgentLimits limits;
    limits.deadline = Clock::now() + 300ms;
    auto t0 = Clock::now();
    AgentRun r = run(program({"/bin/sleep", "30"}), limits);
    EXPECT_EQ(r.end, End::TimedOut);
    EXPECT_LT(Clock::now() - t0, 1500ms);
    EXPECT_EQ(r.signal, SIGKILL);
    EXPECT_TRUE(session_->usable());
    EXPECT_EQ(run(program({"/bin/echo", "again"})).stdout_data.data, "again\n");
}

// The program leaves its process group for a helper's (a group leader that is no session leader
// may): a Kill sent to its group alone reached no one, the host waited out its grace and took
// the agent for unresponsive. The Kill reaches the program itself.
TEST_F(GuestAgent, KillReachesAProgramThatLeftItsProcessGroup) {
    const char* script =
        "import os, sys, time\n"
        "h = os.fork()\n"
        "if h == 0:\n"
        "    os.setpgid(0, 0); os.close(1); os.close(2); time.sleep(5); os._exit(0)\n"
        "time.sleep(0.2)\n"
        "os.setpgid(0, h)\n"
        "print('moved', os.getpgid(0) == h, flush=True)\n"
        "time.sleep(20)\n";
    AgentLimits limits;
    limits.deadline = Clock::now() + 1500ms;
    AgentRun r = run(program({"/usr/bin/python3", "-c", script}), limits);
    EXPECT_EQ(r.stdout_data.data, "moved True\n");
    EXPECT_EQ(r.end, End::TimedOut) << r.problem;
    EXPECT_EQ(r.signal, SIGKILL) << r.problem;
    EXPECT_TRUE(session_->usable()) << "the agent did not answer the Kill: " << r.problem;
    EXPECT_EQ(run(program({"/bin/echo", "again"})).stdout_data.data, "again\n");
}

TEST_F(GuestAgent, CancelEndsTheRunWithin100ms) {
    CancelSource source;
    AgentLimits limits;
    limits.cancel = source.token();
    Clock::time_point cancelled_at;
    std::thread canceller([&] {
        std::this_thread::sleep_for(200ms);
        cancelled_at = Clock::now();
        source.cancel();
    });
    AgentRun r = run(program({"/bin/sh", "-c", "while :; do :; done"}), limits);
    auto ended = Clock::now();
    canceller.join();
    EXPECT_EQ(r.end, End::Cancelled);
    EXPECT_LT(ended - cancelled_at, 100ms);
    EXPECT_TRUE(session_->usable());
}

TEST_F(GuestAgent, TheProgramsEndEndsItsBackgroundProcesses) {
    auto t0 = Clock::now();
    AgentRun r = run(program({"/bin/sh", "-c", "sleep 60 & echo $!"}));
    EXPECT_EQ(r.end, End::Exited);
    EXPECT_LT(Clock::now() - t0, 3s);  // not held open by the background sleep
    pid_t straggler = std::stoi(r.stdout_data.data);
    std::this_thread::sleep_for(100ms);
    std::ifstream stat("/proc/" + std::to_string(straggler) + "/stat");
    std::string line;
    std::getline(stat, line);
    EXPECT_TRUE(line.empty() || line.find(") Z") != std::string::npos) << line;
}

TEST_F(GuestAgent, UsageIsMeasuredByTheGuestKernel) {
    AgentRun r = run(program({"/bin/sh", "-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"}));
    ASSERT_EQ(r.end, End::Exited);
    ASSERT_TRUE(r.usage);
    EXPECT_GT(r.usage->cpu_user_us + r.usage->cpu_system_us, 10'000u);
    EXPECT_GT(r.usage->peak_memory_bytes, 100'000u);
    EXPECT_GE(r.usage->wall_us, r.usage->cpu_user_us / 2);
}

// The agent trusts the host, but a broken host end must still end it cleanly, never hang it.
TEST(GuestAgentChannel, MalformedFramesFromTheHostEndTheAgentWithEXProtocol) {
    for (std::string bytes : {std::string("\xff\xff\xff\xff", 4),
                              agent::encode_frame(agent::FrameType::Output, "\x01x"),
                              agent::encode_frame(agent::FrameType::Exec, "{\"kind\":1}") +
                                  std::string("\x00\x00\x00", 3)}) {
        int host_end = -1;
        pid_t pid = spawn_agent(host_end);
        ASSERT_GE(pid, 0);
        ASSERT_EQ(::write(host_end, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
        ::shutdown(host_end, SHUT_WR);
        int status = 0;
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        ::close(host_end);
        // A bad Exec is answered with an Error and the agent goes on until EOF; then the partial
        // frame that follows makes it exit EX_PROTOCOL like the other two.
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 76) << status;
    }
}

// A pooled VM's warm-up (the host's own Exec, "warmup": true) leaves the agent waiting for its
// Setup; any other Exec ends the time for a Setup (one after it ends the agent, EX_PROTOCOL), so
// an execution's program can never run before the Setup that sets its clock, seed and network.
TEST(GuestAgentChannel, AWarmupLeavesTheSetupToComeAndARealExecDoesNot) {
    for (bool warmup : {true, false}) {
        int host_end = -1;
        pid_t pid = spawn_agent(host_end);
        ASSERT_GE(pid, 0);
        {
            AgentSession session{UniqueFd(host_end)};
            ASSERT_TRUE(session.handshake(Clock::now() + 10s));
            guest::Exec exec;
            exec.kind = guest::Exec::Kind::Program;
            exec.argv = {"/bin/true"};
            exec.warmup = warmup;
            AgentLimits limits;
            limits.deadline = Clock::now() + 20s;
            AgentRun r = session.run(exec, limits);
            ASSERT_EQ(r.end, End::Exited) << r.problem;
            auto setup = session.setup(guest::Setup{}, Clock::now() + 10s);
            ASSERT_FALSE(setup);  // outside a VM it cannot be applied either way
            if (warmup) {
                // Still before its Setup: the agent takes it and answers why it cannot apply it.
                EXPECT_NE(setup.error().message.find("agent of a VM"), std::string::npos)
                    << setup.error().message;
            }
        }  // the channel closes
        int status = 0;
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        // After a warm-up the agent went on to its end of input (0); after a real Exec the Setup
        // ended it (EX_PROTOCOL).
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == (warmup ? 0 : 76))
            << "warmup " << warmup << ": " << status;
    }
}

}  // namespace
}  // namespace microvm::host
