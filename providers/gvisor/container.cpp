#include "gvisor/container.hpp"

#include <fcntl.h>

#include "gvisor/child_process.hpp"
#include "process/sys_error.hpp"
#include "process/unique_fd.hpp"

namespace microvm::gvisor {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// How often `runsc kill` is retried (the container may not have started yet at the deadline),
// and how long runsc run gets to return after the deadline before it is SIGKILLed.
constexpr auto kKillRetry = 100ms;
constexpr auto kKillGrace = 3s;

std::chrono::nanoseconds to_ns(const timeval& tv) {
    return std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
}

// Sends `runsc kill ID KILL` without blocking the capture loop, repeating it until runsc run
// returns, and SIGKILLs runsc run after the grace period.
class Killer {
public:
    Killer(const Runsc& runsc, const std::string& id, ChildProcess& target, int null_fd)
        : runsc_(runsc), id_(id), target_(target), null_fd_(null_fd) {}

    void start(Clock::time_point now) {
        deadline_ = now;
        attempt(now);
    }

    void tick(Clock::time_point now) {
        if (!deadline_) return;
        if (current_.running()) current_.try_wait();
        if (now - *deadline_ >= kKillGrace) {
            if (!target_killed_) target_.kill();
            target_killed_ = true;
        } else if (!current_.running() && now - last_attempt_ >= kKillRetry) {
            attempt(now);
        }
    }

    bool target_killed() const { return target_killed_; }

private:
    void attempt(Clock::time_point now) {
        last_attempt_ = now;
        auto child = ChildProcess::spawn({runsc_.settings().binary, runsc_.argv({}, {"kill", id_, "KILL"}),
                                          {kRunscPath}, null_fd_, null_fd_, null_fd_});
        if (child) current_ = std::move(*child);
    }

    const Runsc& runsc_;
    const std::string& id_;
    ChildProcess& target_;
    int null_fd_;
    std::optional<Clock::time_point> deadline_;
    Clock::time_point last_attempt_{};
    ChildProcess current_;  // killed and reaped on destruction if still running
    bool target_killed_ = false;
};

}  // namespace

Expected<ContainerExit> run_container(const Runsc& runsc, const ContainerLaunch& launch) {
    // Stdio are pipes, never host files: runsc hands the container's stdio to the sandbox user
    // (fchown), which must not happen to a host file such as /dev/null.
    RTFS_TRY(process::Pipe in, process::make_pipe());
    RTFS_TRY(process::Pipe out, process::make_pipe());
    RTFS_TRY(process::Pipe err, process::make_pipe());
    RTFS_CHECK(process::set_nonblocking(in.write.get()));
    // runsc kill runs with /dev/null as its stdio (it creates no container: nothing is chowned).
    process::UniqueFd null_fd(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!null_fd.valid()) return process::sys_failure("open /dev/null", errno);

    const std::vector<std::string> global = {
        launch.host_network ? "--network=host" : "--network=none", "--oci-seccomp",
        "--log=" + launch.log_path};
    const auto started = Clock::now();
    RTFS_TRY(ChildProcess run,
             ChildProcess::spawn({runsc.settings().binary,
                                  runsc.argv(global, {"run", "--bundle", launch.bundle_dir, launch.id}),
                                  {kRunscPath}, in.read.get(), out.write.get(), err.write.get()}));
    in.read.reset();
    out.write.reset();
    err.write.reset();

    Killer killer(runsc, launch.id, run, null_fd.get());
    process::CaptureTargets targets;
    targets.stdout_fd = out.read.get();
    targets.stderr_fd = err.read.get();
    if (launch.stdin_data) {
        targets.stdin_fd = std::move(in.write);
        targets.stdin_data = *launch.stdin_data;
    }
    in.write.reset();  // no data: EOF at once
    targets.pidfd = run.pidfd();
    targets.max_output_bytes = launch.max_output_bytes;
    targets.deadline = started + launch.timeout;
    targets.on_deadline = [&] { killer.start(Clock::now()); };
    targets.on_tick = [&] {
        killer.tick(Clock::now());
        if (launch.on_tick) launch.on_tick();
    };
    process::Captured captured = process::capture_until_exit(std::move(targets));
    ChildExit exit = run.wait();

    ContainerExit result;
    result.timed_out = captured.deadline_hit;
    result.runsc_killed = killer.target_killed();
    result.wait_status = exit.wait_status;
    result.wall = captured.exited_at - started;
    result.rusage_cpu = to_ns(exit.usage.ru_utime) + to_ns(exit.usage.ru_stime);
    result.out = std::move(captured.out);
    result.err = std::move(captured.err);
    return result;
}

}  // namespace microvm::gvisor
