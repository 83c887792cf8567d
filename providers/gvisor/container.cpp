#include "gvisor/container.hpp"

#include "gvisor/child_process.hpp"
#include "host/sys_error.hpp"
#include "host/unique_fd.hpp"

namespace microvm::gvisor {
namespace {

using Clock = std::chrono::steady_clock;

std::chrono::nanoseconds to_ns(const timeval& tv) {
    return std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
}

}  // namespace

Expected<ContainerExit> run_container(const Runsc& runsc, const ContainerLaunch& launch) {
    // Stdio are pipes, never host files: runsc hands the container's stdio to the sandbox user
    // (fchown), which must not happen to a host file such as /dev/null.
    RTFS_TRY(host::Pipe in, host::make_pipe());
    RTFS_TRY(host::Pipe out, host::make_pipe());
    RTFS_TRY(host::Pipe err, host::make_pipe());
    RTFS_CHECK(host::set_nonblocking(in.write.get()));
    const std::vector<std::string> global = {
        launch.host_network ? "--network=host" : "--network=none", "--oci-seccomp",
        "--ignore-cgroups", "--log=" + launch.log_path};
    const auto started = Clock::now();
    SpawnRequest request{runsc.settings().binary,
                         runsc.argv(global, {"run", "--bundle", launch.bundle_dir, launch.id}),
                         {kRunscPath},
                         in.read.get(),
                         out.write.get(),
                         err.write.get(),
                         launch.cgroup_fd,
                         launch.cgroup_join_fds};
    RTFS_TRY(ChildProcess run, ChildProcess::spawn(request));
    in.read.reset();
    out.write.reset();
    err.write.reset();

    host::CaptureTargets targets;
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
    targets.on_deadline = [&] {
        if (launch.kill_cgroup) launch.kill_cgroup();
        run.kill();
    };
    targets.on_tick = launch.on_tick;
    targets.on_output = launch.on_output;
    targets.cancel_fd = launch.cancel_fd;
    host::Captured captured = host::capture_until_exit(std::move(targets));
    ChildExit exit = run.wait();

    ContainerExit result;
    result.timed_out = captured.deadline_hit;
    result.cancelled = captured.cancelled;
    result.wait_status = exit.wait_status;
    result.wall = captured.exited_at - started;
    result.rusage_cpu = to_ns(exit.usage.ru_utime) + to_ns(exit.usage.ru_stime);
    result.out = std::move(captured.out);
    result.err = std::move(captured.err);
    return result;
}

}  // namespace microvm::gvisor
