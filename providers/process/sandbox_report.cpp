#include "process/sandbox_report.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "host/child_process.hpp"
#include "process/child_report.hpp"

namespace microvm::process {
using host::CgroupUsage;
using host::Captured;
using host::SandboxReport;
namespace {

std::vector<ChildReport> parse_reports(const std::string& bytes) {
    std::vector<ChildReport> reports;
    for (size_t off = 0; off + sizeof(ChildReport) <= bytes.size(); off += sizeof(ChildReport)) {
        ChildReport r;
        std::memcpy(&r, bytes.data() + off, sizeof r);
        reports.push_back(r);
    }
    return reports;
}

// The program's end as its wait status says.
void ended_as(SandboxReport& o, int wait_status) {
    if (WIFSIGNALED(wait_status)) {
        o.end = SandboxReport::End::Signaled;
        o.signal = WTERMSIG(wait_status);
        o.exit_code = 128 + o.signal;
    } else {
        o.end = SandboxReport::End::Exited;
        o.exit_code = WEXITSTATUS(wait_status);
    }
}

void killed_by_us(SandboxReport& o, SandboxReport::End end) {
    o.end = end;
    o.signal = SIGKILL;
    o.exit_code = 128 + SIGKILL;
}

}  // namespace

bool program_reported_end(const std::string& reports) {
    for (const ChildReport& r : parse_reports(reports)) {
        if (r.kind == ChildReport::kProgramEnded) return true;
    }
    return false;
}

Expected<SandboxReport> make_report(Captured captured, const CgroupUsage& usage,
                                      const struct rusage& ru, int init_wait_status,
                                      std::chrono::steady_clock::time_point started,
                                      const ChildPlan& plan) {
    std::optional<ChildReport> ended, exec_failed;
    for (const ChildReport& r : parse_reports(captured.reports)) {
        if (r.kind == ChildReport::kSetupFailed) {
            return fail(Failure::Kind::SetupError,
                        "sandbox setup failed: " + describe_failure(r, plan));
        }
        if (r.kind == ChildReport::kExecFailed) exec_failed = r;
        if (r.kind == ChildReport::kProgramEnded) ended = r;
    }

    SandboxReport o;
    o.wall = captured.exited_at - started;
    // The cgroup's counters when it keeps them; else the init's rusage, which includes every
    // process it reaped (the program, and whatever the namespace's end killed).
    o.cpu_time = usage.cpu_time ? *usage.cpu_time : host::cpu_time_of(ru);
    o.cpu_throttling = usage.cpu_throttling;
    o.memory_peak_bytes =
        usage.memory_peak_bytes ? *usage.memory_peak_bytes : uint64_t(ru.ru_maxrss) * 1024;
    o.stdout_data = std::move(captured.out);
    o.stderr_data = std::move(captured.err);
    o.result = std::move(captured.result);

    if (exec_failed) {
        o.end = SandboxReport::End::ExecFailed;
        o.exec_errno = exec_failed->err;
        o.exec_error = describe_failure(*exec_failed, plan);
        o.exit_code = exec_failed->err == ENOENT ? 127 : 126;
        return o;
    }
    bool clean_exit =
        ended && WIFEXITED(ended->wait_status) && WEXITSTATUS(ended->wait_status) == 0;
    if (captured.cancelled && !ended) {
        killed_by_us(o, SandboxReport::End::Cancelled);
    } else if (captured.deadline_hit && !ended) {
        killed_by_us(o, SandboxReport::End::TimedOut);
    } else if (usage.oom_kills > 0 && !clean_exit) {
        // The program's own end when it has one: a child killed for memory while the program
        // went on to exit 3 is exit code 3, not a SIGKILL the program never got (red team,
        // 2026-12-06).
        if (ended) {
            ended_as(o, ended->wait_status);
            o.end = SandboxReport::End::MemoryExceeded;
        } else {
            killed_by_us(o, SandboxReport::End::MemoryExceeded);
        }
    } else if (!ended) {
        // A setup error, but the program may have run until then: its output and what the
        // kernel measured are kept (red team, 2026-12-07: a program that got its init killed
        // erased both, and its run read as a 0 ms failure of the host's).
        o.end = SandboxReport::End::InitLost;
        o.exec_error = "the sandbox's init ended without a report (wait status " +
                       std::to_string(init_wait_status) + ")";
    } else {
        ended_as(o, ended->wait_status);
    }
    return o;
}

}  // namespace microvm::process
