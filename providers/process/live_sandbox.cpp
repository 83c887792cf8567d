#include "process/live_sandbox.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "host/fd_wait.hpp"
#include "host/output_capture.hpp"
#include "host/pidfd.hpp"
#include "host/sys_error.hpp"
#include "process/launch_message.hpp"
#include "process/child_report.hpp"
#include "process/sandbox_report.hpp"
#include "host/file_identity.hpp"

namespace microvm::process {
namespace {

using Clock = std::chrono::steady_clock;

Expected<std::pair<host::UniqueFd, host::UniqueFd>> socket_pair(int type, const char* what) {
    int pair[2];
    if (::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, pair) != 0) {
        return host::sys_failure(std::string("socketpair for ") + what, errno);
    }
    return std::pair{host::UniqueFd(pair[0]), host::UniqueFd(pair[1])};
}

}  // namespace

Expected<SandboxPipes> SandboxPipes::make(const host::SandboxRequest& spec, bool ahead) {
    SandboxPipes p;
    RTFS_TRY(p.sync, host::make_pipe());
    RTFS_TRY(p.report, host::make_pipe());
    RTFS_TRY(p.out, host::make_pipe());
    RTFS_TRY(p.err, host::make_pipe());
    if (spec.guest) {
        RTFS_TRY(p.result, host::make_pipe());
    }
    if (spec.stdin_data || ahead) {
        RTFS_TRY(p.input, host::make_pipe());
        RTFS_CHECK(host::set_nonblocking(p.input.write.get()));
    }
    if (spec.egress) {
        RTFS_TRY(auto pair, socket_pair(SOCK_SEQPACKET, "the egress listener"));
        p.egress_host = std::move(pair.first);
        p.egress_child = std::move(pair.second);
    }
    if (ahead) {
        RTFS_TRY(auto pair, socket_pair(SOCK_STREAM, "the launch message"));
        p.launch_host = std::move(pair.first);
        p.launch_child = std::move(pair.second);
        RTFS_CHECK(host::set_nonblocking(p.launch_host.get()));
    }
    return p;
}

void SandboxPipes::give_to_child(ChildFds& fds, int dev_null) const {
    fds.sync = sync.read.get();
    fds.report = report.write.get();
    fds.stdin_fd = input.read.valid() ? input.read.get() : dev_null;
    fds.stdout_fd = out.write.get();
    fds.stderr_fd = err.write.get();
    fds.result = result.write.valid() ? result.write.get() : -1;
    fds.egress = egress_child.valid() ? egress_child.get() : -1;
    fds.launch = launch_child.valid() ? launch_child.get() : -1;
}

void SandboxPipes::close_child_ends() {
    report.write.reset();
    out.write.reset();
    err.write.reset();
    result.write.reset();
    sync.read.reset();
    input.read.reset();
    egress_child.reset();
    launch_child.reset();
}

Expected<host::SandboxReport> LiveSandbox::launch(const host::SandboxRequest& request) {
    RTFS_TRY(std::string message, encode_launch(request.argv, request.env));
    cgroup->restart_measurements();
    const auto started = std::chrono::steady_clock::now();
    RTFS_CHECK(send_launch(pipes.launch_host.get(), message, started + request.timeout));
    pipes.launch_host.reset();
    return supervise(request, started);
}

bool LiveSandbox::alive() const { return init.running() && !host::process_exited(init.pidfd()); }

bool LiveSandbox::binds_unchanged() const {
    const ChildPlan& plan = builder->plan();
    for (size_t i = 0; i < plan.mount_count; ++i) {
        const ChildMount& m = plan.mounts[i];
        if (m.kind != ChildMount::kBind || !m.source) continue;
        if (host::identity_of_entry(m.source) != host::FileIdentity{m.source_dev, m.source_ino}) return false;
    }
    return true;
}

Expected<void> LiveSandbox::wait_ready(Clock::time_point deadline) {
    ChildReport report;
    size_t got = 0;
    while (got < sizeof report) {
        switch (host::wait_fd(pipes.report.read.get(), POLLIN, deadline)) {
            case host::FdWait::Ready: break;
            case host::FdWait::DeadlinePassed:
                return fail(Failure::Kind::SetupError, "the sandbox built ahead was not ready in time");
            case host::FdWait::Failed: return host::sys_failure("waiting for the sandbox", errno);
        }
        ssize_t n = ::read(pipes.report.read.get(), reinterpret_cast<char*>(&report) + got,
                           sizeof report - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            return fail(Failure::Kind::SetupError,
                        "the sandbox's init ended before it was ready");
        }
        got += static_cast<size_t>(n);
    }
    if (report.kind == ChildReport::kReady) return Ok{};
    if (report.kind == ChildReport::kSetupFailed) {
        return fail(Failure::Kind::SetupError,
                    "sandbox setup failed: " + describe_failure(report, builder->plan()));
    }
    return fail(Failure::Kind::SetupError, "the sandbox's init sent an unexpected report");
}

Expected<host::SandboxReport> LiveSandbox::supervise(const host::SandboxRequest& spec,
                                                     Clock::time_point started) {
    host::CaptureTargets targets;
    targets.stdout_fd = pipes.out.read.get();
    targets.stderr_fd = pipes.err.read.get();
    targets.result_fd = pipes.result.read.valid() ? pipes.result.read.get() : -1;
    targets.report_fd = pipes.report.read.get();
    if (spec.stdin_data) {
        targets.stdin_fd = std::move(pipes.input.write);
        targets.stdin_data = *spec.stdin_data;
    }
    pipes.input.write.reset();  // no input (a sandbox built ahead has the pipe): end of file
    targets.pidfd = init.pidfd();
    targets.max_output_bytes = spec.max_output_bytes;
    targets.max_result_bytes = spec.max_result_bytes;
    targets.deadline = started + spec.timeout;
    host::SandboxCgroup* cg = cgroup.get();
    targets.on_deadline = [this, cg] {
        init.kill();  // the kernel then kills the whole pid namespace
        cg->kill_all();
    };
    targets.on_tick = [cg] { cg->sample(); };
    targets.on_output = spec.on_output;
    targets.cancel_fd = spec.cancel.wait_fd();
    targets.return_when_drained = true;
    host::Captured captured = host::capture_until_exit(std::move(targets));

    // The program ended, the init killed and reaped whatever it left running, reported and
    // closed its pipe: the result is complete once the cgroup measured it. The init's exit (its
    // copy of the host's memory, the namespaces) and the cgroup's removal are this sandbox's
    // teardown, done after the result (the caller disposes of it; the destructor does both).
    if (captured.drained && !captured.deadline_hit && !captured.cancelled &&
        program_reported_end(captured.reports)) {
        const host::CgroupUsage usage = cgroup->usage();
        if (usage.cpu_time && usage.memory_peak_bytes) {
            init.kill();  // nothing is left to wait for in the init
            return make_report(std::move(captured), usage, rusage{}, 0, started, builder->plan());
        }
    }
    if (!captured.exited) init.kill();  // never wait unbounded
    // Its rusage includes every descendant it reaped.
    const host::ChildExit exit = init.wait();
    const host::CgroupUsage usage = cgroup->usage();
    cgroup.reset();  // kills anything left (nothing: the pid namespace is gone) and removes it
    return make_report(std::move(captured), usage, exit.usage, exit.wait_status, started, builder->plan());
}

}  // namespace microvm::process
