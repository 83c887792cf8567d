#include "host/confined_fork.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "confined_fork_filter.hpp"
#include "host/fd_passing.hpp"
#include "host/mode_bits_filter.hpp"
#include "host/unique_fd.hpp"

namespace microvm::host {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint8_t kReportTag = 0xFF;
constexpr uint8_t kSetupFailedTag = 0xFE;
constexpr size_t kHeaderBytes = 5;  // tag, then the length (uint32, host order)
constexpr int kChannelFd = 3;
constexpr int kConnectorFd = 4;  // a socket pair's end: one byte asks, a descriptor answers
constexpr std::chrono::seconds kConnectWait{30};

std::string header(uint8_t tag, uint32_t length) {
    std::string h(kHeaderBytes, '\0');
    h[0] = static_cast<char>(tag);
    std::memcpy(h.data() + 1, &length, sizeof length);
    return h;
}

bool send_frame(int fd, uint8_t tag, std::string_view bytes) {
    if (bytes.size() > UINT32_MAX) return false;  // its length would not fit the header
    return write_all(fd, header(tag, static_cast<uint32_t>(bytes.size()))) && write_all(fd, bytes);
}

// Only the channel (on 3), the connector if any (on 4) and /dev/null on 0-2 stay open.
bool keep_only_channel(int channel, int connector) {
    // Both moved above 4 first, so that neither lands on the other's place.
    const int high_channel = ::fcntl(channel, F_DUPFD, kConnectorFd + 1);
    const int high_connector = connector >= 0 ? ::fcntl(connector, F_DUPFD, kConnectorFd + 1) : -1;
    if (high_channel < 0 || (connector >= 0 && high_connector < 0)) return false;
    if (::dup2(high_channel, kChannelFd) != kChannelFd) return false;
    if (connector >= 0 && ::dup2(high_connector, kConnectorFd) != kConnectorFd) return false;
    const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0) return false;
    for (int fd = 0; fd <= 2; ++fd) {
        if (::dup2(null, fd) != fd) return false;
    }
    const int first_closed = connector >= 0 ? kConnectorFd + 1 : kChannelFd + 1;
    if (::syscall(SYS_close_range, first_closed, ~0U, 0) != 0) {
        for (int fd = first_closed; fd < 65536; ++fd) ::close(fd);
    }
    return true;
}

// Pages of address space the process has now (/proc/self/statm's first field).
std::optional<uint64_t> address_space_bytes() {
    FILE* f = std::fopen("/proc/self/statm", "re");
    if (!f) return std::nullopt;
    unsigned long long pages = 0;
    const bool read = std::fscanf(f, "%llu", &pages) == 1;
    std::fclose(f);
    if (!read) return std::nullopt;
    return pages * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

// Of root's capabilities the child keeps those that let it reach files as the engine did in the
// host (permission checks, times of files it does not own); none over processes (ptrace, kill,
// setuid), the kernel, the network or mode bits.
constexpr int kKeptCapabilities[] = {CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER};

bool drop_capabilities() {
    uint64_t kept = 0;
    for (int cap : kKeptCapabilities) kept |= uint64_t{1} << cap;
    for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
        if (kept & (uint64_t{1} << cap)) continue;
        // EINVAL: a capability this kernel lacks; EPERM: no CAP_SETPCAP, so a host without
        // capabilities, whose bounding set grants its children none anyway.
        if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL && errno != EPERM) return false;
    }
    struct __user_cap_header_struct header {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2] {};
    if (::syscall(SYS_capget, &header, data) != 0) return false;
    for (int i = 0; i < 2; ++i) {
        const auto mask = static_cast<uint32_t>(kept >> (32 * i));
        data[i].effective &= mask;
        data[i].permitted &= mask;
        data[i].inheritable = 0;
    }
    return ::syscall(SYS_capset, &header, data) == 0;
}

// The child's confinement, in order; the failed step's name, or empty.
std::string confine(const ChildRules& rules, bool landlock_available) {
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return "prctl(PR_SET_DUMPABLE)";
    if (!drop_capabilities()) return "dropping capabilities";
    const struct rlimit no_core {0, 0};
    if (::setrlimit(RLIMIT_CORE, &no_core) != 0) return "setrlimit(RLIMIT_CORE)";
    if (rules.memory_bytes > 0) {
        // A sanitizer's runtime reserves and maps address space as it pleases: no limit there.
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
        auto now = address_space_bytes();
        if (!now) return "reading /proc/self/statm";
        const rlim_t cap = *now + rules.memory_bytes;
        const struct rlimit as {cap, cap};
        if (::setrlimit(RLIMIT_AS, &as) != 0) return "setrlimit(RLIMIT_AS)";
#endif
    }
    if (landlock_available) {
        if (auto restricted = landlock::restrict_self(rules.paths, rules.files_unrestricted); !restricted) {
            return restricted.error().message;
        }
    }
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return "prctl(PR_SET_NO_NEW_PRIVS)";
    std::vector<sock_filter> filter = confined_fork_filter(rules.sockets, ::getpid());
    if (filter.empty()) return "the seccomp filter (a block past a jump's reach)";
    const struct sock_fprog program {static_cast<unsigned short>(filter.size()), filter.data()};
    if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0) return "seccomp";
    const ModeBitsFilter mode_bits;
    if (!mode_bits.install()) return "seccomp (mode bits)";
    return {};
}

// Everything in the child, to its _exit: an exception out of any step (an allocation, say)
// must never unwind into the host's code as a second, unconfined copy of the host.
[[noreturn]] void run_child(const ConfinedCall& call, int channel, int connector, pid_t host,
                            bool landlock_available) noexcept {
    try {
        if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) ::_exit(1);
        if (::getppid() != host) ::_exit(1);  // the host thread is already gone
        if (!keep_only_channel(channel, connector)) ::_exit(1);
        ChildRules rules = call.rules;
        if (call.prepare) call.prepare(rules);
        if (std::string failed = confine(rules, landlock_available); !failed.empty()) {
            send_frame(kChannelFd, kSetupFailedTag, "the child could not confine itself: " + failed);
            ::_exit(1);
        }
        ChildChannel out(kChannelFd);
        const std::string report = call.body(out);
        if (report.size() > call.max_report) ::_exit(1);
        ::_exit(send_frame(kChannelFd, kReportTag, report) ? 0 : 1);
    } catch (...) {
        ::_exit(1);
    }
}

// Reads frames off the channel as they come, handing messages on; remembers the report.
class FrameReader {
  public:
    FrameReader(const ConfinedCall& call) : call_(call) {}
    // False when the child broke the framing (problem() says how).
    bool take(std::string_view bytes) {
        buffer_.append(bytes);
        size_t at = 0;  // frames are consumed from here; the buffer is compacted once, at the end
        while (problem_.empty() && buffer_.size() - at >= kHeaderBytes) {
            const auto tag = static_cast<uint8_t>(buffer_[at]);
            uint32_t length;
            std::memcpy(&length, buffer_.data() + at + 1, sizeof length);
            const size_t cap = tag == kReportTag ? call_.max_report
                               : tag == kSetupFailedTag ? 4096
                                                        : ChildChannel::kMaxMessage;
            if (length > cap) {
                problem_ = "the child sent a message of " + std::to_string(length) + " bytes (at most " +
                           std::to_string(cap) + ")";
                break;
            }
            if (buffer_.size() - at < kHeaderBytes + length) break;
            std::string_view body(buffer_.data() + at + kHeaderBytes, length);
            if (reported_) {
                problem_ = "the child sent a message after its report";
            } else if (tag == kReportTag) {
                report_ = std::string(body);
                reported_ = true;
            } else if (tag == kSetupFailedTag) {
                problem_ = std::string(body);
                setup_failed_ = true;
            } else if (call_.on_message) {
                call_.on_message(tag, body);
            }
            at += kHeaderBytes + length;
        }
        buffer_.erase(0, at);
        return problem_.empty();
    }
    bool reported() const { return reported_ && buffer_.empty(); }
    std::string take_report() { return std::move(report_); }  // moved, never copied again
    const std::string& problem() const { return problem_; }
    bool setup_failed() const { return setup_failed_; }

  private:
    const ConfinedCall& call_;
    std::string buffer_;
    std::string report_;
    bool reported_ = false;
    bool setup_failed_ = false;  // the child said it could not confine itself
    std::string problem_;
};

}  // namespace

bool ChildChannel::send(uint8_t tag, std::string_view bytes) {
    if (tag >= kSetupFailedTag || bytes.size() > kMaxMessage) return false;
    return send_frame(fd_, tag, bytes);
}

int ChildChannel::request_socket() {
    const char ask = 1;
    if (::send(kConnectorFd, &ask, 1, MSG_NOSIGNAL) != 1) return -1;
    auto received = receive_fd(kConnectorFd, "a socket from the host", kConnectWait);
    if (!received || !*received) return -1;
    return (*received)->release();
}

namespace {

// The host's side of the connector (non-blocking): one request per packet, one packet per wake.
// An answer the child does not take is dropped, never waited for: a child that asks without
// reading filled the queue and held the host in sendmsg past the deadline (red team, 2026-12-07).
void answer_connect_request(const ConfinedCall& call, int connector) {
    char ask[64];
    if (::recv(connector, ask, sizeof ask, MSG_DONTWAIT) <= 0) return;
    UniqueFd socket = call.on_connect_request();
    if (socket.valid()) {
        (void)send_fd(connector, socket.get());
    } else {
        const char refused = 0;  // a byte without a descriptor: receive_fd's failure
        (void)::send(connector, &refused, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
}

}  // namespace

ConfinedRun run_confined(const ConfinedCall& call) {
    ConfinedRun run;
    auto setup_failed = [&run](std::string why) {
        run.failure = ConfinedRun::Failure::Setup;
        run.problem = std::move(why);
        return run;
    };
    auto pipe = make_pipe();
    if (!pipe) return setup_failed(pipe.error().message);
    UniqueFd connector_host, connector_child;
    if (call.on_connect_request) {
        int pair[2];
        if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
            return setup_failed(std::string("socketpair: ") + std::strerror(errno));
        }
        connector_host.reset(pair[0]);
        connector_child.reset(pair[1]);
        (void)set_nonblocking(connector_host.get());
    }
    const bool landlock_available = landlock::abi_version() > 0;
    const pid_t host = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) return setup_failed(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) run_child(call, pipe->write.get(), connector_child.get(), host, landlock_available);
    ChildProcess child = ChildProcess::adopt(pid);
    pipe->write.reset();
    connector_child.reset();
    run.landlocked = landlock_available;
    (void)set_nonblocking(pipe->read.get());

    FrameReader reader(call);
    bool channel_open = true;
    enum class Read { Data, Nothing, Broken };
    auto read_channel = [&]() -> Read {  // Broken: the framing is; Nothing: no more for now
        char buf[65536];
        const ssize_t n = ::read(pipe->read.get(), buf, sizeof buf);
        if (n > 0) return reader.take({buf, static_cast<size_t>(n)}) ? Read::Data : Read::Broken;
        if (n == 0 || (errno != EAGAIN && errno != EINTR)) channel_open = false;
        return Read::Nothing;
    };
    std::optional<ConfinedRun::Ended> killed;
    bool exited = false;
    while (!exited) {
        if (call.cancel && call.cancel->load()) {
            killed = ConfinedRun::Ended::Cancelled;
        } else if (Clock::now() >= call.kill_at) {
            killed = ConfinedRun::Ended::Deadline;
        }
        if (killed) break;
        // Ticks for cancellation, and for an exit no pidfd tells of.
        const bool tick = call.cancel || child.pidfd() < 0;
        auto wait = std::chrono::milliseconds(tick ? 10 : 1000);
        if (call.kill_at != Clock::time_point::max()) {
            wait = std::min(wait, std::chrono::ceil<std::chrono::milliseconds>(call.kill_at - Clock::now()));
        }
        struct pollfd fds[3] = {{channel_open ? pipe->read.get() : -1, POLLIN, 0},
                                {child.pidfd(), POLLIN, 0},
                                {connector_host.get(), POLLIN, 0}};
        const int waited = ::poll(fds, 3, static_cast<int>(std::max<int64_t>(wait.count(), 0)));
        if (waited < 0 && errno != EINTR) {
            run.failure = ConfinedRun::Failure::Setup;
            run.problem = std::string("poll: ") + std::strerror(errno);
            killed = ConfinedRun::Ended::Failed;
            break;
        }
        if (fds[2].revents & POLLIN) answer_connect_request(call, connector_host.get());
        if (fds[2].revents & (POLLHUP | POLLERR)) connector_host.reset();
        if (channel_open && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) && read_channel() == Read::Broken) {
            killed = ConfinedRun::Ended::Failed;  // nothing more worth reading
            break;
        }
        if (fds[1].revents & POLLIN) {
            exited = true;  // its pidfd is readable: reaped below at once
        } else if (child.pidfd() < 0 && !channel_open) {
            if (auto status = child.try_wait()) {  // no pidfd: asked at each tick
                run.exit = *status;
                exited = true;
            }
        }
    }
    if (killed) {
        child.kill();
        run.exit = child.wait();
        run.ended = *killed;
        if (run.failure == ConfinedRun::Failure::None) {
            run.failure = reader.setup_failed() ? ConfinedRun::Failure::Setup : ConfinedRun::Failure::BrokeChannel;
        }
        if (run.problem.empty()) run.problem = reader.problem();
        if (*killed != ConfinedRun::Ended::Failed) run.failure = ConfinedRun::Failure::None;
        return run;
    }
    // Reaped without blocking on anything but the exit itself, then what it wrote before it
    // exited read to the pipe's end, without blocking either (a copy of the write end another
    // thread's fork holds for a moment would otherwise hold this loop).
    if (!run.exit) run.exit = child.wait();
    Read got = Read::Data;
    while (channel_open && got == Read::Data) got = read_channel();
    if (got == Read::Broken) run.problem = reader.problem();
    const int status = run.exit->wait_status;
    if (reader.reported() && reader.problem().empty() && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        run.ended = ConfinedRun::Ended::Reported;
        run.report = reader.take_report();
        return run;
    }
    run.ended = ConfinedRun::Ended::Failed;
    if (reader.setup_failed()) {
        run.failure = ConfinedRun::Failure::Setup;
    } else if (!reader.problem().empty()) {
        run.failure = ConfinedRun::Failure::BrokeChannel;
    } else {
        run.failure = ConfinedRun::Failure::Died;
    }
    run.problem = !reader.problem().empty() ? reader.problem()
                  : "the child " + describe_wait_status(status) + " without a complete report";
    return run;
}

}  // namespace microvm::host
