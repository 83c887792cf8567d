// One sandbox whose init is running: its plan, cgroup and descriptors, from the clone to the
// report. A fresh run supervises it at once; a sandbox built ahead (host/prepared_live_run.hpp)
// first waits for the init's kReady and supervises when launched. Destroying it kills and reaps an
// init that is still there, and removes the cgroup.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>

#include "host/cgroup.hpp"
#include "host/sandbox.hpp"
#include "host/unique_fd.hpp"
#include "process/child_plan_builder.hpp"
#include "process/namespaces.hpp"

namespace microvm::process {

// The descriptors of one sandbox; the child's ends are closed in the host once it runs.
struct SandboxPipes {
    host::Pipe sync;    // host -> init: go (ids mapped); its hang-up: the host died
    host::Pipe report;  // init -> host: ChildReport records
    host::Pipe out, err;
    host::Pipe result;  // the guest runner's fd 3
    host::Pipe input;   // stdin data
    host::UniqueFd egress_host, egress_child;  // allow/block lists: the init sends its listener here
    host::UniqueFd launch_host, launch_child;  // built ahead: the launch message (argv, env)

    // ahead: a sandbox built before its program, which gets an input pipe whatever it is given
    // (the request's stdin is not known yet) and a launch socket.
    static Expected<SandboxPipes> make(const host::SandboxRequest& spec, bool ahead);
    void give_to_child(ChildFds& fds, int dev_null) const;
    void close_child_ends();
};

struct LiveSandbox {
    // First: destroyed last, after the init and everything in its namespace are gone (the ids
    // may then go to another sandbox).
    SandboxIdentity identity;
    std::unique_ptr<ChildPlanBuilder> builder;  // the plan the init runs (and failures name)
    std::unique_ptr<host::SandboxCgroup> cgroup;
    SandboxPipes pipes;
    // Killed and reaped with the sandbox (before the cgroup goes) unless supervise() reaped it.
    host::ChildProcess init;
    std::chrono::steady_clock::time_point spawned_at;  // a fresh run's time counts from here

    LiveSandbox() = default;
    LiveSandbox(const LiveSandbox&) = delete;
    LiveSandbox& operator=(const LiveSandbox&) = delete;

    // The init has not ended (a sandbox built ahead loses it when the preparing thread ends).
    bool alive() const;
    // Every bind's host source is still the object the plan checked (same device and inode).
    bool binds_unchanged() const;
    // Waits for the init of a sandbox built ahead to report kReady; its setup failure otherwise.
    Expected<void> wait_ready(std::chrono::steady_clock::time_point deadline);
    // A sandbox built ahead: restarts the cgroup's measurements, sends the program's argv and
    // environment on the launch socket and supervises it as a fresh run would, with the
    // request's time limit, input and output caps counted from the launch. Once.
    Expected<host::SandboxReport> launch(const host::SandboxRequest& request);
    // Runs until the program ends (or the deadline, or cancel), then reaps the init and reports
    // what the kernel measured from `started`. Once.
    Expected<host::SandboxReport> supervise(const host::SandboxRequest& spec,
                                            std::chrono::steady_clock::time_point started);
};

}  // namespace microvm::process
