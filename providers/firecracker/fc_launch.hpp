// How one Firecracker VM is started: which binaries (firecracker, and the jailer when present),
// whether this host can run them (availability), and the exact command line and environment of
// one VM. This file only decides what to run; fc_process.hpp starts it.
//
// Never --no-seccomp: Firecracker's built-in seccomp filters stay on, always.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "microvm/error.hpp"
#include "microvm/provider.hpp"

namespace microvm::firecracker {

// A jailed VM's uid and gid: kFirecrackerUidBase + a number the VM leases for its lifetime
// (host/id_lease.hpp), so that a guest that took over its Firecracker cannot signal or ptrace
// another VM's (every VM ran as 65534: red team, 2026-12-06). Apart from the process provider's
// 0x70000000 and 0x72000000 ranges and the qemu provider's 0x71000000.
inline constexpr uid_t kFirecrackerUidBase = 0x73000000u;

// Where the jailer makes its jails: a protected state place (host/trusted_state.hpp), which no
// sandbox of any run is granted. Firecracker's own default, /srv/jailer, is not one: a process
// sandbox given rw=/srv planted <base>/firecracker/<id>/root as a symlink to /etc, which the
// jailer then chowned to the jail's uid (red team, 2026-12-06). Not /run: the jail holds the
// /dev/kvm node the jailer makes, and /run is commonly mounted nodev.
inline constexpr const char* kJailBase = "/var/lib/microvm-firecracker/jail";

// How the launch is done: [provider_configs.firecracker] settings (`binary`, `jailer`,
// `use_jailer`) and what the backend decides per VM.
struct FcLaunchSettings {
    std::string binary;       // `binary`: absolute path of firecracker; empty = search PATH
    std::string jailer;       // `jailer`: absolute path of the jailer; empty = search PATH
    bool use_jailer = true;   // `use_jailer`: run through the jailer when one is found
    uid_t jail_uid = 65534;   // what the jailer drops to: the backend sets each VM's own
    gid_t jail_gid = 65534;
    std::string chroot_base = kJailBase;  // the jailer's --chroot-base-dir (not a setting)
    std::string netns;        // a network namespace handle to join; empty = none (not a setting)
};

struct FcBinaries {
    std::string firecracker;  // real path, trusted
    std::string jailer;       // real path, trusted; empty = run unjailed
};

// Finds the binaries: each setting when given (an absolute path that must pass
// trusted_executable), else the first on path_env (PATH's format). A jailer found on PATH must be
// trusted too; a missing jailer means unjailed. The error names what was searched.
Expected<FcBinaries> find_binaries(const FcLaunchSettings& settings, const std::string& path_env);

// Whether the provider can run here: the binaries are found and trusted, and kvm_device works
// (host::probe_kvm_device). Every missing piece is named in the reason, the binary first.
Availability check_availability(const FcLaunchSettings& settings, const std::string& path_env,
                                const std::string& kvm_device = "/dev/kvm");

// The command of one VM.
struct LaunchPlan {
    std::string executable;         // what to exec: firecracker, or the jailer
    std::vector<std::string> argv;  // argv[0] included
    std::vector<std::string> env;   // KEY=VALUE: empty, Firecracker needs nothing of the host's
    bool jailed = false;
    std::string jail_dir;    // jailed: <chroot_base>/<exec name>/<id>, everything the jailer makes
    std::string jail_root;   // jailed: <jail_dir>/root, Firecracker's "/"
    std::string api_socket;  // host path of the API socket (inside the jail when jailed)

    // The host path of a path as Firecracker sees it (the jail maps its "/" to jail_root).
    // Files the VM must open (kernel, drives, snapshot) are placed at host_path(p) and passed
    // to the API as p; the vsock socket Firecracker creates at p appears at host_path(p).
    std::string host_path(const std::string& vm_path) const;
};

// A VM id the jailer and Firecracker accept: 1 to 64 letters, digits and hyphens.
bool valid_vm_id(const std::string& id);

// Creates the VM's private state directory parent/<vm_id> (mode 0700, must not exist yet) and
// returns its path; parent is made (0700) when missing, and must be trusted, it and every
// directory above it (host::trusted_cache_dir). Unjailed, the API socket lives there, out of
// reach of other users.
Expected<std::string> make_vm_dir(const std::string& parent, const std::string& vm_id);

// The command for VM vm_id. Unjailed: firecracker --api-sock <vm_dir>/api.sock --id <vm_id>.
// Jailed: jailer --id <vm_id> --exec-file <firecracker> --uid U --gid G --chroot-base-dir B
// [--netns N] -- --api-sock /api.sock (the jailer passes --id itself; vm_dir is unused, the jail
// root is the private directory). The jailer runs in the foreground (no --daemonize) and execs
// Firecracker in place, so the spawned pid is the VM's. InvalidInput for a bad id, an
// exec-file the jailer would refuse, or a socket path too long for sockaddr_un.
Expected<LaunchPlan> plan_launch(const FcBinaries& binaries, const FcLaunchSettings& settings,
                                 const std::string& vm_id, const std::string& vm_dir);

}  // namespace microvm::firecracker
