#include "gvisor/container.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "host/fd_wait.hpp"
#include "host/pidfd.hpp"
#include "host/sys_error.hpp"

namespace microvm::gvisor {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

Expected<StartedContainer> StartedContainer::start(const Runsc& runsc, const ContainerStart& s) {
    // Stdio are pipes, never host files: runsc hands the container's stdio to the sandbox user
    // (fchown), which must not happen to a host file such as /dev/null.
    RTFS_TRY(host::Pipe in, host::make_pipe());
    RTFS_TRY(host::Pipe out, host::make_pipe());
    RTFS_TRY(host::Pipe err, host::make_pipe());
    RTFS_CHECK(host::set_nonblocking(in.write.get()));
    const std::vector<std::string> global = {
        s.host_network ? "--network=host" : "--network=none", "--oci-seccomp", "--ignore-cgroups",
        // The root holds read-only binds the host staged (staged_binds.hpp): revalidated as
        // binds of the spec are, so that the program sees the host's changes while it runs.
        // Later runscs overlay the root by default (--overlay2=root:self), which they refuse
        // with shared file access; the root is read-only, so no overlay is wanted anyway.
        "--file-access=shared", "--overlay2=none", "--log=" + s.log_path};
    // runsc binds the sandbox's control server to the abstract Unix socket
    // "@runsc-sandbox.<id>" of the network namespace it starts in, and serves whoever connects:
    // in the host's, any local user (or a process sandbox under --network full) listed it in
    // /proc/net/unix and ran commands as root in the sandbox, read its binds and wrote to its
    // output, or took the names ahead and failed every run (red team, 2026-12-05). runsc starts
    // in a namespace of its own; with --network=host the sandbox joins the host's (oci_spec.hpp).
    host::SpawnRequest request{runsc.settings().binary,
                               runsc.argv(global, {"run", "--bundle", s.bundle_dir, s.id}),
                               {kRunscPath},
                               in.read.get(),
                               out.write.get(),
                               err.write.get(),
                               s.cgroup_fd,
                               s.cgroup_join_fds,
                               /*own_network_namespace=*/true};
    StartedContainer c;
    RTFS_TRY(c.run_, host::ChildProcess::spawn(request));
    c.stdin_ = std::move(in.write);
    c.stdout_ = std::move(out.read);
    c.stderr_ = std::move(err.read);
    return c;
}

rtfs::Expected<void, NotAnnounced> StartedContainer::read_stdout_prefix(std::string_view expected,
                                                                         Clock::time_point deadline, int cancel_fd) {
    using Cause = NotAnnounced::Cause;
    auto stop = [](Cause cause, std::string message) { return rtfs::unexpected(NotAnnounced{cause, std::move(message)}); };
    std::string got;
    while (got.size() < expected.size()) {
        if (Clock::now() >= deadline) return stop(Cause::Deadline, "the sandbox did not come up in time");
        pollfd fds[3] = {{stdout_.get(), POLLIN, 0}, {run_.pidfd(), POLLIN, 0}, {cancel_fd, POLLIN, 0}};
        const int n = ::poll(fds, 3, host::poll_timeout_ms(deadline, 1000));
        if (n < 0 && errno != EINTR) return stop(Cause::Other, host::sys_failure("poll", errno).error.message);
        if (n <= 0) continue;
        if (fds[2].revents) return stop(Cause::Cancelled, "cancelled while the sandbox came up");
        if (fds[0].revents) {
            char buf[64];
            const size_t want = std::min(sizeof buf, expected.size() - got.size());
            const ssize_t r = ::read(stdout_.get(), buf, want);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) return stop(Cause::Other, "runsc run closed the container's stdout");
            got.append(buf, static_cast<size_t>(r));
            if (!expected.starts_with(got)) return stop(Cause::Other, "the container's process did not announce itself");
        } else if (fds[1].revents) {
            return stop(Cause::RunscEnded, "runsc run ended before the sandbox came up");
        }
    }
    return {};
}

ContainerExit StartedContainer::finish(const ContainerAttach& attach, Clock::time_point since) {
    host::CaptureTargets targets;
    targets.stdout_fd = stdout_.get();
    targets.stderr_fd = stderr_.get();
    if (attach.stdin_data) {
        targets.stdin_fd = std::move(stdin_);
        targets.stdin_data = *attach.stdin_data;
    }
    stdin_.reset();  // no data: EOF at once
    targets.pidfd = run_.pidfd();
    targets.max_output_bytes = attach.max_output_bytes;
    targets.deadline = since + attach.timeout;
    targets.on_deadline = [&] {
        if (attach.kill_cgroup) attach.kill_cgroup();
        run_.kill();
    };
    targets.on_tick = attach.on_tick;
    targets.on_output = attach.on_output;
    targets.cancel_fd = attach.cancel_fd;
    host::Captured captured = host::capture_until_exit(std::move(targets));
    host::ChildExit exit = run_.wait();

    ContainerExit result;
    result.timed_out = captured.deadline_hit;
    result.cancelled = captured.cancelled;
    result.wait_status = exit.wait_status;
    result.wall = captured.exited_at - since;
    result.rusage_cpu = host::cpu_time_of(exit.usage);
    result.out = std::move(captured.out);
    result.err = std::move(captured.err);
    return result;
}

bool StartedContainer::alive() const {
    return run_.running() && !host::process_exited(run_.pidfd());
}

}  // namespace microvm::gvisor
