// One container of a Runtime with everything it holds: its cgroup (memory limit, CPU quota, a
// pids limit for the sandbox's host tasks), its bundle (rootfs, config.json), runsc's state and
// the running `runsc run`. Built from a request, either with the request's program as the
// container's process (a fresh run) or with the launcher (launch_format.hpp) for a container
// built ahead; finished once; whatever is left is torn down on destruction, in the one safe
// order: everything in the cgroup killed, runsc run reaped, runsc's state files removed (never
// `runsc delete`, which would signal a recorded pid the kernel may have reused), the cgroup
// removed, the bundle removed.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gvisor/bundle.hpp"
#include "gvisor/container.hpp"
#include "gvisor/oci_mounts.hpp"
#include "gvisor/runsc.hpp"
#include "gvisor/runtime.hpp"
#include "gvisor/state_dir.hpp"
#include "host/cgroup.hpp"
#include "host/sandbox.hpp"

namespace microvm::gvisor {

// What a Runtime shares with its containers: a container keeps it alive, so that one built ahead
// may outlive its Runtime (a warm pool's entry may outlive the provider's cleanup()); the
// private state directory goes with the last of them.
struct ContainerHost {
    std::shared_ptr<const Runsc> runsc;
    std::shared_ptr<host::CgroupManager> cgroups;
    std::shared_ptr<const StateDir> state;
    uint64_t max_open_files = 1024;
    uint64_t max_file_size_bytes = 1ull << 30;
    std::shared_ptr<const BindWindowHooks> test_hooks;  // tests only; null otherwise
};

class LiveContainer {
  public:
    // The cgroup, bundle and config for req. launcher: the host path of the launcher, which then
    // is the container's process (bound read-only at kLauncherPathInside, with no environment
    // of its own) instead of req's argv and env; the sandbox then boots at every CPU this
    // process may use (host::setup_cpu_share), and launch() sets the program's share.
    static Expected<std::unique_ptr<LiveContainer>> build(const ContainerHost& host,
                                                          const host::SandboxRequest& req,
                                                          const std::optional<std::string>& launcher);
    ~LiveContainer();
    LiveContainer(const LiveContainer&) = delete;
    LiveContainer& operator=(const LiveContainer&) = delete;

    // Starts `runsc run` in the cgroup.
    Expected<void> start();
    // Waits until the launcher announced that it waits for its launch message, or says why not
    // (the message with runsc's logged errors): the deadline, cancel_fd (when not -1) readable,
    // runsc run's end, or other output.
    rtfs::Expected<void, NotAnnounced> await_launcher(std::chrono::steady_clock::time_point deadline,
                                                      int cancel_fd = -1);
    // What ended a one-shot run, started at since, whose launcher did not announce itself (why)
    // by the run's deadline: the deadline, a cancel, or a memory or task limit the booting
    // sandbox hit is reported as a run without the launcher reports it (TimedOut, Cancelled,
    // MemoryExceeded, ProcessLimit); anything else is SetupError with why's message.
    Expected<host::SandboxReport> boot_ended(const host::SandboxRequest& req,
                                             std::chrono::steady_clock::time_point since, NotAnnounced why);
    // Starts req's program in the launcher, which announced itself: the program's CPU share first
    // (the sandbox booted at a larger one), the cgroup's measurements restarted, then message
    // (the launch message: encode_launch), the digits drawn for this launch (launch_format.hpp)
    // and req's stdin; the rest as finish() from now: the deadline, duration and measurements
    // count from the launch, not from the boot.
    Expected<host::SandboxReport> launch(const host::SandboxRequest& req, std::string message);
    // A container built ahead (Runtime::prepare), launched once: req's shape checked
    // (check_request), its launch message encoded, then launch(req, message).
    Expected<host::SandboxReport> launch(const host::SandboxRequest& req);
    host::SandboxCgroup& cgroup() { return *cgroup_; }
    // Started and runsc run still running (a container built ahead can be launched).
    bool alive() const { return runsc_ && runsc_->alive(); }
    // Every host file or directory bound into it is still the object at its path (the one that
    // was checked): it holds the objects that were checked when it was built (staged_binds.hpp),
    // and a fresh container would bind what is there now (oci_mounts.hpp).
    bool binds_unchanged() const;
    const std::string& name() const { return name_; }

    // Attaches to the started container (stdin: stdin_data), waits for runsc run's end and
    // reports what happened to req's program, measured from `since`. What is left (runsc's
    // state, the cgroup, the bundle) goes with the container: callers hand it to a
    // host::DeferredTeardown, so that it is removed after the result. ran_before: the container
    // ran before `since` (built ahead, or booted for a launch), so runsc run's rusage (which
    // would count that) is never reported as the program's CPU time.
    Expected<host::SandboxReport> finish(const host::SandboxRequest& req,
                                         std::optional<std::string> stdin_data,
                                         std::chrono::steady_clock::time_point since,
                                         bool ran_before);

  private:
    LiveContainer() = default;
    void tear_down();

    ContainerHost host_;
    std::unique_ptr<host::SandboxCgroup> cgroup_;
    std::unique_ptr<Bundle> bundle_;
    std::string name_;  // the cgroup's, the container's and the bundle's
    std::vector<OciMount> binds_;  // with their host paths (the config names the staged ones)
    ContainerStart start_;
    std::optional<StartedContainer> runsc_;
    bool launcher_ = false;  // its process is the launcher
    std::string exec_nonce_;  // the launch's digits, once launched: only its launcher's record has them
};

// The checks every request passes, fresh or launched: an absolute program path, and only UTF-8
// text (runsc reads its bundle as JSON: other bytes are refused rather than altered); fresh and
// launched executions refuse the same requests.
Expected<void> check_request(const host::SandboxRequest& req);

// The argv the program runs with: req's, plus the result file a guest writes its frame to
// (runsc passes only stdio into a container).
std::vector<std::string> program_argv(const host::SandboxRequest& req);

}  // namespace microvm::gvisor
