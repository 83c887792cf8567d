#include "host/confined_fork.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "confined_fork_filter.hpp"
#include "host/fd_passing.hpp"
#include "host/mode_bits_filter.hpp"
#include "host/sys_error.hpp"
#include "host/unique_fd.hpp"

namespace microvm::host {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint8_t kReportTag = 0xFF;
constexpr uint8_t kSetupFailedTag = 0xFE;
constexpr size_t kHeaderBytes = 5;  // tag, then the length (uint32, host order)
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

// The body form's descriptors: only the channel and the connector, each at its place
// (kChildChannelFd, kChildConnectorFd), and /dev/null on 0-2 stay open.
bool keep_only_channel(int channel, int connector) {
    constexpr int kFirstFree = kChildConnectorFd + 1;
    // Both moved above the fixed places first, so that neither lands on the other's place.
    const int high_channel = ::fcntl(channel, F_DUPFD, kFirstFree);
    const int high_connector = connector >= 0 ? ::fcntl(connector, F_DUPFD, kFirstFree) : -1;
    if (high_channel < 0 || (connector >= 0 && high_connector < 0)) return false;
    if (::dup2(high_channel, kChildChannelFd) != kChildChannelFd) return false;
    if (connector >= 0 && ::dup2(high_connector, kChildConnectorFd) != kChildConnectorFd) return false;
    const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0) return false;
    for (int fd = 0; fd <= 2; ++fd) {
        if (::dup2(null, fd) != fd) return false;
    }
    const int first_closed = connector >= 0 ? kFirstFree : kChildConnectorFd;
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

// The child's work after its descriptors are in place, to its _exit: an exception out of any step
// (an allocation, say) must never unwind into the caller's code as a second, unconfined copy.
[[noreturn]] void confine_and_serve(ChildRules rules, const std::function<void(ChildRules&)>& prepare,
                                    const std::function<std::string(ChildChannel&)>& body, size_t max_report,
                                    bool landlock_available) noexcept {
    try {
        if (prepare) prepare(rules);
        if (std::string failed = confine(rules, landlock_available); !failed.empty()) {
            send_frame(kChildChannelFd, kSetupFailedTag, "the child could not confine itself: " + failed);
            ::_exit(1);
        }
        ChildChannel out(kChildChannelFd);
        const std::string report = body(out);
        if (report.size() > max_report) ::_exit(1);
        ::_exit(send_frame(kChildChannelFd, kReportTag, report) ? 0 : 1);
    } catch (...) {
        ::_exit(1);
    }
}

// What the body form's child does first: it dies with the host thread that forked it, and keeps
// only its own descriptors.
bool enter_child(pid_t host, int channel, int connector) {
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) return false;
    if (::getppid() != host) return false;  // the host thread is already gone
    return keep_only_channel(channel, connector);
}

// The program form's start: posix_spawn, a vfork-like clone that copies none of the host's page
// tables (a fork of a large host, then its copy-on-write faults, made the start dear) and runs
// nothing of the host's between the clone and the execve; the descriptors put in place by file
// actions, every signal's default disposition, no signal blocked, an empty environment. The
// program's first step is its PR_SET_PDEATHSIG (read_confined_input).
Expected<pid_t> spawn_program(const ConfinedCall& call, int channel, int connector, int input) {
    struct Actions {
        posix_spawn_file_actions_t a;
        Actions() { ::posix_spawn_file_actions_init(&a); }
        ~Actions() { ::posix_spawn_file_actions_destroy(&a); }
    } actions;
    struct Attributes {
        posix_spawnattr_t a;
        Attributes() { ::posix_spawnattr_init(&a); }
        ~Attributes() { ::posix_spawnattr_destroy(&a); }
    } attributes;
    // Each source moved above every place first (close-on-exec), so that none is overwritten by
    // another's dup2 before its own.
    const int first_free = kChildFirstPassedFd + static_cast<int>(call.descriptors.size());
    std::vector<UniqueFd> high;
    auto place = [&](int source, int target) {
        UniqueFd moved(::fcntl(source, F_DUPFD_CLOEXEC, first_free));
        if (!moved.valid()) return false;
        const bool added = ::posix_spawn_file_actions_adddup2(&actions.a, moved.get(), target) == 0;
        high.push_back(std::move(moved));
        return added;
    };
    bool ok = place(channel, kChildChannelFd) && place(input, kChildInputFd);
    ok = ok && (connector >= 0 ? place(connector, kChildConnectorFd)
                               : ::posix_spawn_file_actions_addclose(&actions.a, kChildConnectorFd) == 0);
    for (size_t i = 0; ok && i < call.descriptors.size(); ++i) {
        ok = place(call.descriptors[i].get(), kChildFirstPassedFd + static_cast<int>(i));
    }
    ok = ok && ::posix_spawn_file_actions_addopen(&actions.a, 0, "/dev/null", O_RDWR, 0) == 0 &&
         ::posix_spawn_file_actions_adddup2(&actions.a, 0, 1) == 0 &&
         ::posix_spawn_file_actions_adddup2(&actions.a, 0, 2) == 0 &&
         ::posix_spawn_file_actions_addclosefrom_np(&actions.a, first_free) == 0;
    if (!ok) return sys_failure("preparing the child's descriptors", errno);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    if (::posix_spawnattr_setflags(&attributes.a, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) != 0 ||
        ::posix_spawnattr_setsigmask(&attributes.a, &none) != 0 ||
        ::posix_spawnattr_setsigdefault(&attributes.a, &all) != 0) {
        return sys_failure("preparing the child's signals", errno);
    }
    std::vector<char*> argv;
    for (const std::string& arg : call.program) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    char* no_environment[] = {nullptr};
    pid_t pid = -1;
    if (const int err = ::posix_spawn(&pid, argv[0], &actions.a, &attributes.a, argv.data(), no_environment)) {
        return sys_failure("the child could not execute " + call.program[0], err);
    }
    return pid;
}

// The host's input for a program, in a memfd sealed against any change: the child reads it from
// the start of its own copy of the descriptor.
// Ahead of it, the host's pid, which the program checks its parent against.
Expected<UniqueFd> input_memfd(const std::string& input) {
    UniqueFd fd(::memfd_create("microvm-confined-input", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!fd.valid()) return sys_failure("memfd_create", errno);
    const pid_t host = ::getpid();
    if (!write_all(fd.get(), std::string_view(reinterpret_cast<const char*>(&host), sizeof host)) ||
        !write_all(fd.get(), input)) {
        return sys_failure("writing the child's input", errno);
    }
    if (::lseek(fd.get(), 0, SEEK_SET) != 0) return sys_failure("lseek", errno);
    if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) != 0) {
        return sys_failure("sealing the child's input", errno);
    }
    return fd;
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
    if (::send(kChildConnectorFd, &ask, 1, MSG_NOSIGNAL) != 1) return -1;
    auto received = receive_fd(kChildConnectorFd, "a socket from the host", kConnectWait);
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

ConfinedRun run_confined(ConfinedCall call) {
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
    pid_t pid = -1;
    if (!call.program.empty()) {
        auto input = input_memfd(call.input);
        if (!input) return setup_failed(input.error().message);
        std::string().swap(call.input);  // in the memfd now: not held twice for the whole run
        auto spawned = spawn_program(call, pipe->write.get(), connector_child.get(), input->get());
        if (!spawned) return setup_failed(spawned.error().message);
        pid = *spawned;
        call.descriptors.clear();  // the child's now
    } else {
        const pid_t host = ::getpid();
        pid = ::fork();
        if (pid < 0) return setup_failed(std::string("fork: ") + std::strerror(errno));
        if (pid == 0) {
            if (!enter_child(host, pipe->write.get(), connector_child.get())) ::_exit(1);
            confine_and_serve(call.rules, call.prepare, call.body, call.max_report, landlock_available);
        }
    }
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

std::optional<std::string> read_confined_input(size_t max_bytes) {
    // Dies with the host thread that started it; one already gone (its parent is another now)
    // runs nothing.
    pid_t host = 0;
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 ||
        ::read(kChildInputFd, &host, sizeof host) != static_cast<ssize_t>(sizeof host) || ::getppid() != host) {
        return std::nullopt;
    }
    std::string input;
    char buf[65536];
    for (;;) {
        const ssize_t n = ::read(kChildInputFd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 || input.size() + static_cast<size_t>(n) > max_bytes) return std::nullopt;
        if (n == 0) break;
        input.append(buf, static_cast<size_t>(n));
    }
    ::close(kChildInputFd);
    return input;
}

void serve_confined_child(ChildRules rules, const std::function<void(ChildRules&)>& prepare,
                          const std::function<std::string(ChildChannel&)>& body, size_t max_report) noexcept {
    confine_and_serve(std::move(rules), prepare, body, max_report, landlock::abi_version() > 0);
}

}  // namespace microvm::host
