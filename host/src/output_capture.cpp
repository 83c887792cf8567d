#include "host/output_capture.hpp"
#include "host/fd_wait.hpp"
#include "host/sigpipe_block.hpp"
#include "microvm/capped_text.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace microvm::host {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kTick = 20ms;
// After the init exited, the pipes reach EOF at once unless another thread of this process is
// between its own fork and exec while holding copies of them: wait for that, within reason.
constexpr auto kDrainGrace = 1s;
constexpr size_t kChunk = 64 * 1024;

struct Reader {
    int fd;
    std::string* data;
    bool* truncated;  // nullptr: not reported
    uint64_t cap;
    const std::function<void(OutputStream, std::string_view)>* sink;  // output streams only
    OutputStream stream;
};

// Reads what is available; false at EOF or on error.
bool read_some(const Reader& r) {
    char buf[kChunk];
    for (;;) {
        ssize_t n = ::read(r.fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno == EAGAIN;
        if (n == 0) return false;
        bool cut = false;
        const std::string_view kept =
            append_capped(*r.data, cut, r.cap, std::string_view(buf, static_cast<size_t>(n)));
        if (!kept.empty() && r.sink && *r.sink) (*r.sink)(r.stream, kept);
        if (cut && r.truncated) *r.truncated = true;
        return true;  // one read per wakeup keeps the loop fair between streams
    }
}

}  // namespace

Captured capture_until_exit(CaptureTargets t) {
    SigpipeBlock sigpipe_block;  // feeding stdin to a program that closed it
    Captured c;
    bool report_truncated = false;
    std::vector<Reader> readers;
    const auto* sink = &t.on_output;
    if (t.stdout_fd >= 0) {
        readers.push_back({t.stdout_fd, &c.out.data, &c.out.truncated, t.max_output_bytes, sink,
                           OutputStream::Stdout});
    }
    if (t.stderr_fd >= 0) {
        readers.push_back({t.stderr_fd, &c.err.data, &c.err.truncated, t.max_output_bytes, sink,
                           OutputStream::Stderr});
    }
    if (t.result_fd >= 0) {
        readers.push_back({t.result_fd, &c.result.data, &c.result.truncated, t.max_result_bytes,
                           nullptr, OutputStream::Stdout});
    }
    if (t.report_fd >= 0) {
        readers.push_back({t.report_fd, &c.reports, &report_truncated, 1 << 16, nullptr,
                           OutputStream::Stdout});
    }
    std::vector<bool> open(readers.size(), true);

    size_t stdin_written = 0;
    if (t.stdin_data.empty()) t.stdin_fd.reset();
    bool exited = false;
    Clock::time_point drain_until{};
    Clock::time_point next_tick = Clock::now() + kTick;

    for (;;) {
        std::vector<pollfd> fds;
        std::vector<int> index;  // reader index, -1 stdin, -2 pidfd, -3 cancel
        for (size_t i = 0; i < readers.size(); ++i) {
            if (open[i]) {
                fds.push_back({readers[i].fd, POLLIN, 0});
                index.push_back(static_cast<int>(i));
            }
        }
        if (t.stdin_fd.valid() && !exited) {
            fds.push_back({t.stdin_fd.get(), POLLOUT, 0});
            index.push_back(-1);
        }
        if (!exited) {
            fds.push_back({t.pidfd, POLLIN, 0});
            index.push_back(-2);
        }
        if (!exited && !c.cancelled && !c.deadline_hit && t.cancel_fd >= 0) {
            fds.push_back({t.cancel_fd, POLLIN, 0});
            index.push_back(-3);
        }
        bool any_reader = std::find(open.begin(), open.end(), true) != open.end();
        if (exited && (!any_reader || Clock::now() >= drain_until)) break;
        if (!exited && !any_reader && t.return_when_drained && !readers.empty()) {
            c.drained = true;
            c.exited_at = Clock::now();
            break;
        }

        Clock::time_point wake = exited                           ? drain_until
                                 : (c.deadline_hit || c.cancelled) ? next_tick
                                                                   : std::min(t.deadline, next_tick);
        int rc = ::poll(fds.data(), fds.size(), poll_timeout_ms(wake));
        if (rc < 0 && errno != EINTR) break;

        for (size_t k = 0; rc > 0 && k < fds.size(); ++k) {
            if (fds[k].revents == 0) continue;
            int i = index[k];
            if (i >= 0) {
                if (!read_some(readers[static_cast<size_t>(i)]))
                    open[static_cast<size_t>(i)] = false;
            } else if (i == -1) {
                ssize_t n = ::write(t.stdin_fd.get(), t.stdin_data.data() + stdin_written,
                                    t.stdin_data.size() - stdin_written);
                if (n > 0) stdin_written += static_cast<size_t>(n);
                if ((n < 0 && errno != EAGAIN && errno != EINTR) ||
                    stdin_written == t.stdin_data.size()) {
                    t.stdin_fd.reset();  // all written, or the program closed its end: EOF
                }
            } else if (i == -3) {
                c.cancelled = true;  // killed like at a deadline, at once
                if (t.on_deadline) t.on_deadline();
            } else {
                exited = true;
                c.exited_at = Clock::now();
                drain_until = c.exited_at + kDrainGrace;
            }
        }
        auto now = Clock::now();
        if (!exited && !c.deadline_hit && !c.cancelled && now >= t.deadline) {
            c.deadline_hit = true;
            if (t.on_deadline) t.on_deadline();
        }
        if (now >= next_tick) {
            if (t.on_tick && !exited) t.on_tick();
            next_tick = now + kTick;
        }
    }
    c.exited = exited;
    if (!exited && !c.drained) c.exited_at = Clock::now();
    return c;
}

}  // namespace microvm::host
