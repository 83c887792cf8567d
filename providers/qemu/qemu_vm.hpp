// One QEMU process and its private directory (RAII: the destructor kills QEMU, reaps it and
// removes the directory). QEMU runs unprivileged: as root the host starts it as an unprivileged
// uid (no supplementary groups, no capabilities, no new privileges) in its own mount, IPC and
// UTS namespaces (and network namespace unless the VM has QEMU's user network; an egress VM's
// holds only lo and its tap device, egress_link.hpp), in the execution's host
// cgroup, killed if the thread that started it dies (PR_SET_PDEATHSIG), with QEMU's own seccomp
// filter on (-sandbox). The directory (QMP socket, QEMU's stderr) is 0700 and owned by that uid.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "host/cgroup.hpp"
#include "host/child_process.hpp"
#include "host/id_lease.hpp"
#include "host/unique_fd.hpp"
#include "microvm/error.hpp"
#include "qemu/qemu_command.hpp"

namespace microvm::qemu {

// A root host runs each QEMU under a uid of its own, from 2^24 ids above every account and
// subordinate-id range a system hands out (and apart from the process provider's 0x70000000
// range): a guest that takes over its QEMU must not be able to ptrace, signal or read the memory
// of another one (a template being built, a pooled VM, another execution), which one shared uid
// allowed. No two live VMs on the host share a uid, whichever host processes launched them: the
// uid is kQemuUidBase + a number the VM leases for its lifetime (host/id_lease.hpp). The group is
// the shared nogroup, which grants nothing.
inline constexpr uid_t kQemuUidBase = 0x71000000u;
inline constexpr gid_t kQemuGid = 65534;
// Private VM directories are named host::owned_name("vm-") ("vm-<host pid>.<pid namespace>-<n>")
// under the state directory.
inline constexpr const char* kVmDirPrefix = "vm-";

// The state directory (the setting state_dir), created (0711: QEMU's uid enters its VM's
// directory) when missing, if the host may keep VM directories and records in it: a directory of
// this user, not a symlink, writable by neither group nor others, and every directory above it
// trusted (host::trusted_cache_dir). SetupError naming the setting and the fault otherwise.
Expected<void> check_state_dir(const std::string& state_dir);

class QemuVm {
  public:
    // state_fd: with spec.incoming, the template's state file (read-only), passed as kStateFd.
    // Each share's descriptor (ShareSpec::fd, open until this returns) is passed as
    // kShareFdBase + its index; a share without one is refused.
    static Expected<std::unique_ptr<QemuVm>> launch(const VmSpec& spec,
                                                    const std::string& state_dir,
                                                    host::SandboxCgroup* cgroup, int state_fd = -1);
    ~QemuVm();
    QemuVm(const QemuVm&) = delete;
    QemuVm& operator=(const QemuVm&) = delete;

    // The uid QEMU runs as (and serves the 9p shares as).
    uid_t uid() const { return uid_; }
    // The host's end of the agent's virtio-serial channel (connected since QEMU started; once).
    host::UniqueFd take_agent_channel() { return std::move(agent_); }
    // QEMU's QMP socket (VmSpec::qmp). SetupError when QEMU exited (with its stderr) or the
    // deadline passed.
    Expected<host::UniqueFd> connect_qmp(std::chrono::steady_clock::time_point deadline) {
        return connect_socket(kQmpSocket, deadline);
    }
    // Why QEMU is gone, when it exited by itself within `wait` (e.g. a state that does not load
    // ends it and, with it, the agent's channel): its stderr; empty while it runs.
    std::string exit_reason(std::chrono::milliseconds wait);

    // VmSpec::egress: the listening socket on the gateway's address in QEMU's network namespace,
    // for the execution's egress proxy (EgressSession::adopt_listener); invalid otherwise.
    host::UniqueFd take_egress_listener() { return std::move(egress_listener_); }

    // Kills QEMU and reaps it; returns its CPU time (user + system) as the host counted it.
    std::chrono::nanoseconds stop();
    const std::string& dir() const { return dir_; }

  private:
    QemuVm(std::string dir, host::ChildProcess qemu, uid_t uid, std::optional<host::IdLease> uid_lease)
        : dir_(std::move(dir)), qemu_(std::move(qemu)), uid_(uid), uid_lease_(std::move(uid_lease)) {}
    // Keeps QEMU's CPU time once it is reaped.
    void reaped(const host::ChildExit& exit) { cpu_ = host::cpu_time_of(exit.usage); }
    Expected<host::UniqueFd> connect_socket(const char* name, std::chrono::steady_clock::time_point deadline);
    std::string stderr_text() const;
    std::string dir_;
    host::ChildProcess qemu_;
    uid_t uid_;
    std::optional<host::IdLease> uid_lease_;  // a root host's: released after QEMU is reaped
    host::UniqueFd egress_listener_;
    host::UniqueFd agent_;
    host::UniqueFd log_;  // QEMU's stderr, as the host created it
    std::chrono::nanoseconds cpu_{0};
};

// Removes VM directories of hosts that are gone (their QEMU died with them); returns how many.
size_t sweep_vm_dirs(const std::string& state_dir);

}  // namespace microvm::qemu
