#include "host/agent_session.hpp"
#include "host/fd_wait.hpp"
#include "microvm/capped_text.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <limits>
#include <cerrno>

namespace microvm::host {
namespace {

using Clock = std::chrono::steady_clock;
using agent::FrameType;
using Status = agent::FrameDecoder::Status;

constexpr size_t kReadBytes = 64 * 1024;

// Writes without SIGPIPE: a socket's MSG_NOSIGNAL, else a plain write (a pipe or a character
// device; the process providers' capture blocks SIGPIPE the same way).
ssize_t send_some(int fd, const char* data, size_t n) {
    ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0 && errno == ENOTSOCK) w = ::write(fd, data, n);
    return w;
}

// One exchange with the agent: the outgoing buffer, the incoming frames, the clock.
class Exchange {
  public:
    Exchange(int fd, agent::FrameDecoder& decoder) : fd_(fd), decoder_(decoder) {}

    void queue(std::string bytes) { out_ += bytes; }

    enum class Wait { Frame, TimedOut, Cancelled, Closed, Malformed, Failed };

    // The next frame from the agent (flushing what is queued meanwhile), or why none came
    // before the deadline.
    Wait next(agent::Frame& frame, Clock::time_point deadline, int cancel_fd) {
        for (;;) {
            switch (decoder_.next(frame)) {
                case Status::Ready: return Wait::Frame;
                case Status::Malformed: return Wait::Malformed;
                case Status::NeedMore: break;
            }
            if (closed_) return Wait::Closed;
            if (Clock::now() >= deadline) return Wait::TimedOut;
            pollfd fds[2] = {{fd_, static_cast<short>(POLLIN | (out_.empty() ? 0 : POLLOUT)), 0},
                             {cancel_fd, POLLIN, 0}};
            int n = ::poll(fds, cancel_fd >= 0 ? 2 : 1, poll_timeout_ms(deadline));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return Wait::Failed;
            if (cancel_fd >= 0 && fds[1].revents) return Wait::Cancelled;
            if (fds[0].revents & POLLOUT) flush();
            if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) read_some();
        }
    }

  private:
    void flush() {
        while (!out_.empty()) {
            ssize_t w = send_some(fd_, out_.data(), out_.size());
            if (w < 0 && errno == EINTR) continue;
            if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
            if (w <= 0) {
                out_.clear();
                closed_ = true;
                return;
            }
            out_.erase(0, static_cast<size_t>(w));
        }
    }

    void read_some() {
        char buf[kReadBytes];
        ssize_t n = ::read(fd_, buf, sizeof buf);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
        if (n <= 0) {
            closed_ = true;
            return;
        }
        decoder_.feed(std::string_view(buf, static_cast<size_t>(n)));
    }

    int fd_;
    agent::FrameDecoder& decoder_;
    std::string out_;
    bool closed_ = false;
};

std::string closed_message(const agent::FrameDecoder& decoder) {
    if (decoder.pending() > 0) {
        return "the agent's channel closed inside a frame (" + std::to_string(decoder.pending()) +
               " bytes of a truncated frame)";
    }
    return "the agent's channel closed before the run ended";
}

void keep(CapturedStream& into, std::string_view bytes, uint64_t cap, const OutputSink& sink,
          OutputStream stream) {
    const std::string_view kept = append_capped(into.data, into.truncated, cap, bytes);
    if (!kept.empty() && sink) sink(stream, kept);
}

}  // namespace

AgentSession::AgentSession(UniqueFd channel) : channel_(std::move(channel)) {
    if (channel_.valid()) (void)set_nonblocking(channel_.get());
    // Judged from the header: an Exec or Result is up to 64 MiB, held whole before the switch
    // below refused it (red team, 2026-12-06).
    for (FrameType type : {FrameType::Exec, FrameType::Stdin, FrameType::Kill, FrameType::Setup}) {
        decoder_.refuse(type, std::string("the agent sent a ") + agent::type_name(type) +
                                  " frame, which only the host sends");
    }
}

Expected<guest::Hello> AgentSession::handshake(Clock::time_point deadline,
                                               const CancelToken& cancel) {
    Exchange x(channel_.get(), decoder_);
    agent::Frame f;
    auto refuse = [&](Failure::Kind kind, std::string why) -> Expected<guest::Hello> {
        usable_ = false;
        return fail(kind, "guest agent handshake: " + std::move(why));
    };
    switch (x.next(f, deadline, cancel.wait_fd())) {
        case Exchange::Wait::Frame: break;
        case Exchange::Wait::TimedOut: return refuse(Failure::Kind::SetupError, "no Hello in time");
        case Exchange::Wait::Cancelled: return refuse(Failure::Kind::SetupError, "cancelled");
        case Exchange::Wait::Closed:
            return refuse(Failure::Kind::SetupError, closed_message(decoder_));
        case Exchange::Wait::Failed: return refuse(Failure::Kind::SetupError, "poll failed");
        case Exchange::Wait::Malformed: return refuse(Failure::Kind::InvalidInput, decoder_.error());
    }
    if (f.type != FrameType::Hello) {
        return refuse(Failure::Kind::InvalidInput,
                      std::string(agent::type_name(f.type)) + " frame instead of Hello");
    }
    auto hello = guest::decode_hello(f.payload);
    if (!hello) return refuse(Failure::Kind::InvalidInput, hello.error().message);
    return hello;
}

Expected<guest::Ready> AgentSession::setup(const guest::Setup& setup, Clock::time_point deadline,
                                           const CancelToken& cancel) {
    auto refuse = [&](Failure::Kind kind, std::string why) -> Expected<guest::Ready> {
        usable_ = false;
        return fail(kind, "guest agent setup: " + std::move(why));
    };
    if (!usable_) return refuse(Failure::Kind::SetupError, "the session is no longer usable");
    Exchange x(channel_.get(), decoder_);
    x.queue(agent::encode_frame(FrameType::Setup, guest::encode_setup(setup)));
    agent::Frame f;
    switch (x.next(f, deadline, cancel.wait_fd())) {
        case Exchange::Wait::Frame: break;
        case Exchange::Wait::TimedOut: return refuse(Failure::Kind::SetupError, "no Ready in time");
        case Exchange::Wait::Cancelled: return refuse(Failure::Kind::SetupError, "cancelled");
        case Exchange::Wait::Closed:
            return refuse(Failure::Kind::SetupError, closed_message(decoder_));
        case Exchange::Wait::Failed: return refuse(Failure::Kind::SetupError, "poll failed");
        case Exchange::Wait::Malformed: return refuse(Failure::Kind::InvalidInput, decoder_.error());
    }
    if (f.type == FrameType::Error) {
        auto e = guest::decode_agent_error(f.payload);
        if (!e) return refuse(Failure::Kind::InvalidInput, e.error().message);
        return refuse(Failure::Kind::SetupError, e->message);
    }
    if (f.type != FrameType::Ready) {
        return refuse(Failure::Kind::InvalidInput,
                      std::string(agent::type_name(f.type)) + " frame instead of Ready");
    }
    auto ready = guest::decode_ready(f.payload);
    if (!ready) return refuse(Failure::Kind::InvalidInput, ready.error().message);
    return ready;
}

AgentRun AgentSession::run(const guest::Exec& exec, const AgentLimits& limits) {
    // A session may run several (a pooled VM's warm-ups, then the execution).
    decoder_.refuse(FrameType::Result, exec.kind == guest::Exec::Kind::Rtfs ? "" : "a Result frame for a program run");
    AgentRun run;
    const auto started = Clock::now();
    auto end = [&](AgentRun::End how, std::string problem = {}) {
        run.end = how;
        run.problem = std::move(problem);
        run.wall = Clock::now() - started;
        if (how == AgentRun::End::ProtocolError || how == AgentRun::End::ChannelClosed) {
            usable_ = false;
        }
        return run;
    };
    if (!usable_) return end(AgentRun::End::ChannelClosed, "the session is no longer usable");

    Exchange x(channel_.get(), decoder_);
    guest::Exec sent = exec;
    sent.stdin_frames = limits.stdin_data.has_value();
    x.queue(agent::encode_frame(FrameType::Exec, guest::encode_exec(sent)));
    if (limits.stdin_data) {
        std::string_view data = *limits.stdin_data;
        while (!data.empty()) {
            std::string_view chunk = data.substr(0, agent::kMaxChunkBytes);
            x.queue(agent::encode_frame(FrameType::Stdin, chunk));
            data.remove_prefix(chunk.size());
        }
        x.queue(agent::encode_frame(FrameType::Stdin, ""));
    }

    const bool rtfs = exec.kind == guest::Exec::Kind::Rtfs;
    std::optional<AgentRun::End> stopping;  // TimedOut or Cancelled: Kill sent, awaiting Exit
    bool output_seen = false;               // an Output frame came: the program ran
    Clock::time_point deadline = limits.deadline;
    int cancel_fd = limits.cancel.wait_fd();
    for (;;) {
        agent::Frame f;
        switch (x.next(f, deadline, cancel_fd)) {
            case Exchange::Wait::Frame: break;
            case Exchange::Wait::Malformed: return end(AgentRun::End::ProtocolError, decoder_.error());
            case Exchange::Wait::Closed:
                return end(stopping ? *stopping : AgentRun::End::ChannelClosed,
                           closed_message(decoder_));
            case Exchange::Wait::Failed: return end(AgentRun::End::ChannelClosed, "poll failed");
            case Exchange::Wait::TimedOut:
            case Exchange::Wait::Cancelled: {
                const bool cancelled = cancel_fd >= 0 && limits.cancel.cancelled();
                if (stopping) {  // the agent did not answer the Kill in time
                    usable_ = false;
                    return end(*stopping, "the agent did not answer Kill");
                }
                stopping = cancelled ? AgentRun::End::Cancelled : AgentRun::End::TimedOut;
                x.queue(agent::encode_frame(FrameType::Kill, guest::encode_kill({SIGKILL})));
                deadline = Clock::now() + limits.kill_grace;
                cancel_fd = -1;
                continue;
            }
        }
        switch (f.type) {
            case FrameType::Output: {
                output_seen = true;
                const bool out = f.payload[0] == static_cast<char>(agent::StreamId::Stdout);
                keep(out ? run.stdout_data : run.stderr_data, std::string_view(f.payload).substr(1),
                     limits.max_output_bytes, limits.on_output,
                     out ? OutputStream::Stdout : OutputStream::Stderr);
                break;
            }
            case FrameType::Result:
                if (!rtfs) return end(AgentRun::End::ProtocolError, "a Result frame for a program run");
                if (run.result) return end(AgentRun::End::ProtocolError, "a second Result frame");
                run.result = std::move(f.payload);
                break;
            case FrameType::Usage: {
                if (run.usage) return end(AgentRun::End::ProtocolError, "a second Usage frame");
                auto usage = guest::decode_usage(f.payload);
                if (!usage) return end(AgentRun::End::ProtocolError, usage.error().message);
                run.usage = *usage;
                break;
            }
            case FrameType::Exit: {
                auto exit = guest::decode_exit(f.payload);
                if (!exit) return end(AgentRun::End::ProtocolError, exit.error().message);
                if (exit->signal) {
                    run.signal = *exit->signal;
                    run.exit_code = 128 + *exit->signal;
                } else {
                    run.exit_code = *exit->exit_code;
                }
                if (stopping) return end(*stopping);
                return end(exit->signal ? AgentRun::End::Signaled : AgentRun::End::Exited);
            }
            case FrameType::Error: {
                // The agent refuses a program before it starts, never after: an Error that follows
                // its output or usage would pass a program that ran off as never started (red
                // team, 2026-12-06).
                if (output_seen || run.usage || run.result)
                    return end(AgentRun::End::ProtocolError, "an Error frame after the program ran");
                auto refused = guest::decode_agent_error(f.payload);
                if (!refused) return end(AgentRun::End::ProtocolError, refused.error().message);
                run.refused = *refused;
                if (stopping) return end(*stopping);
                return end(AgentRun::End::Refused);
            }
            case FrameType::Ready:
                return end(AgentRun::End::ProtocolError, "a Ready frame without a Setup");
            case FrameType::Hello:
            case FrameType::Exec:
            case FrameType::Stdin:
            case FrameType::Kill:
            case FrameType::Setup:
                return end(AgentRun::End::ProtocolError,
                           std::string("the agent sent a ") + agent::type_name(f.type) +
                               " frame, which only the host sends" +
                               (f.type == FrameType::Hello ? " once, first" : ""));
        }
    }
}

AgentLimits agent_limits_for(const SandboxRequest& request, std::chrono::steady_clock::time_point ready_at) {
    AgentLimits limits;
    limits.deadline = ready_at + request.timeout;
    limits.cancel = request.cancel;
    limits.max_output_bytes = request.max_output_bytes;
    limits.on_output = request.on_output;
    if (!request.guest) limits.stdin_data = request.stdin_data;
    return limits;
}

Expected<guest::Exec> exec_for(const SandboxRequest& request) {
    if (request.guest) {
        auto exec = guest::read_exec_frame(request.stdin_data.value_or(""));
        if (!exec) return fail(Failure::Kind::InvalidInput, exec.error().message);
        return exec;
    }
    guest::Exec exec;
    exec.kind = guest::Exec::Kind::Program;
    exec.argv = request.argv;
    if (exec.argv.empty()) exec.argv.push_back(request.program);
    exec.argv[0] = request.program;
    exec.env = request.env;
    return exec;
}

SandboxReport report_of(AgentRun run) {
    using End = SandboxReport::End;
    SandboxReport r;
    r.exit_code = run.exit_code;
    r.signal = run.signal;
    r.wall = run.wall;
    r.stdout_data = std::move(run.stdout_data);
    r.stderr_data = std::move(run.stderr_data);
    if (run.result) r.result = CapturedStream{agent::encode_frame(FrameType::Result, *run.result), false};
    switch (run.end) {
        case AgentRun::End::Exited: r.end = End::Exited; break;
        case AgentRun::End::Signaled: r.end = End::Signaled; break;
        case AgentRun::End::TimedOut: r.end = End::TimedOut; r.signal = SIGKILL; break;
        case AgentRun::End::Cancelled: r.end = End::Cancelled; r.signal = SIGKILL; break;
        case AgentRun::End::Refused:
            r.end = End::ExecFailed;
            r.exec_error = run.refused ? run.refused->message : "";
            r.exec_errno = !run.refused                                     ? 0
                           : run.refused->reason == Reason::ProgramNotFound ? ENOENT
                           : run.refused->reason == Reason::NotExecutable   ? EACCES
                                                                            : 0;
            break;
        case AgentRun::End::ProtocolError:
        case AgentRun::End::ChannelClosed:
            r.end = End::GuestFailed;
            r.exec_error = "guest agent: " + run.problem;
            break;
    }
    // The guest kernel's OOM killer ended the program inside its memory cgroup.
    const bool oom = run.usage && run.usage->oom_killed;
    if (oom && (r.end == End::Exited || r.end == End::Signaled)) {
        r.end = End::MemoryExceeded;
        r.signal = SIGKILL;
    }
    if (r.end == End::TimedOut || r.end == End::Cancelled || r.end == End::MemoryExceeded) {
        r.exit_code = 128 + SIGKILL;
    }
    return r;
}

void set_measured_usage(SandboxReport& report, const std::optional<guest::Usage>& guest, const VmmUsage& vmm) {
    using std::chrono::microseconds;
    using std::chrono::nanoseconds;
    // Any u64 of microseconds the guest sends fits in nanoseconds' int64 once capped here.
    constexpr uint64_t kMaxMicros = static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / 1000);
    report.cpu_time = vmm.cpu_time;
    report.memory_peak_bytes = vmm.memory_peak_bytes;
    if (!guest) return;
    const uint64_t cpu_us =
        std::min(std::min(guest->cpu_user_us, kMaxMicros) + std::min(guest->cpu_system_us, kMaxMicros), kMaxMicros);
    const nanoseconds cpu = microseconds(static_cast<int64_t>(cpu_us));
    report.cpu_time = vmm.cpu_time ? std::min(cpu, *vmm.cpu_time) : cpu;
    report.memory_peak_bytes = vmm.memory_peak_bytes ? std::min(guest->peak_memory_bytes, *vmm.memory_peak_bytes)
                                                     : guest->peak_memory_bytes;
}

uint64_t realtime_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace microvm::host
