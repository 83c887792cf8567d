#include "firecracker/fc_launch.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <sstream>

#include "host/unix_address.hpp"
#include "host/kvm_device.hpp"
#include "firecracker/fc_socket.hpp"
#include "host/boot_cache.hpp"
#include "host/paths.hpp"
#include "host/sys_error.hpp"
#include "microvm/trusted_path.hpp"

namespace microvm::firecracker {
namespace {

using K = Failure::Kind;

std::string basename_of(const std::string& path) {
    size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

Expected<FcBinaries> find_binaries(const FcLaunchSettings& settings, const std::string& path_env) {
    // Both run as root (the jailer) or as the host's user: they must lie where no sandbox could
    // have planted or replaced them.
    FcBinaries found;
    if (!settings.binary.empty()) {
        RTFS_TRY(found.firecracker, trusted_executable(settings.binary, "firecracker"));
    } else {
        std::string hit = host::find_in_dirs("firecracker", host::path_dirs(path_env));
        if (hit.empty()) {
            return fail(K::SetupError,
                        "firecracker binary not found: the setting `binary` is unset and no "
                        "'firecracker' is on PATH (" + path_env + ")");
        }
        RTFS_TRY(found.firecracker, trusted_executable(hit, "firecracker"));
    }
    if (!settings.use_jailer) return found;
    if (!settings.jailer.empty()) {
        RTFS_TRY(found.jailer, trusted_executable(settings.jailer, "jailer"));
    } else {
        std::string hit = host::find_in_dirs("jailer", host::path_dirs(path_env));
        if (!hit.empty()) {
            RTFS_TRY(found.jailer, trusted_executable(hit, "jailer"));
        }
    }
    return found;
}

Availability check_availability(const FcLaunchSettings& settings, const std::string& path_env,
                                const std::string& kvm_device) {
    std::vector<std::string> missing;
    auto binaries = find_binaries(settings, path_env);
    if (!binaries) missing.push_back(binaries.error().message);
    const host::KvmDevice kvm = host::probe_kvm_device(kvm_device);
    if (!kvm.usable) missing.push_back(kvm.reason);
    if (missing.empty()) return {true, {}};
    std::string reason;
    for (const auto& m : missing) reason += (reason.empty() ? "" : "; ") + m;
    return {false, reason};
}

std::string LaunchPlan::host_path(const std::string& vm_path) const {
    return jailed ? jail_root + vm_path : vm_path;
}

bool valid_vm_id(const std::string& id) {
    return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
    });
}

Expected<std::string> make_vm_dir(const std::string& parent, const std::string& vm_id) {
    if (!valid_vm_id(vm_id)) {
        return fail(K::InvalidInput, "firecracker VM id '" + vm_id +
                                         "' is not 1 to 64 letters, digits and hyphens");
    }
    // The parent (state_dir) made when missing, and it and every directory above it trusted: a
    // directory another user may change lets that user swap the VM's directory, with its API
    // socket, for theirs (red team, 2026-12-06: it was made, or taken as it was found).
    RTFS_TRY(const std::string real_parent, host::trusted_cache_dir(parent, "state directory (setting state_dir)"));
    std::string dir = real_parent + "/" + vm_id;
    if (::mkdir(dir.c_str(), 0700) != 0) return host::sys_failure("mkdir " + dir, errno);
    // The umask cannot widen 0700, but make the mode exact whatever it was.
    if (::chmod(dir.c_str(), 0700) != 0) return host::sys_failure("chmod " + dir, errno);
    return dir;
}

Expected<LaunchPlan> plan_launch(const FcBinaries& binaries, const FcLaunchSettings& settings,
                                 const std::string& vm_id, const std::string& vm_dir) {
    if (!valid_vm_id(vm_id)) {
        return fail(K::InvalidInput, "firecracker VM id '" + vm_id +
                                         "' is not 1 to 64 letters, digits and hyphens");
    }
    LaunchPlan plan;
    if (binaries.jailer.empty()) {
        plan.executable = binaries.firecracker;
        plan.api_socket = vm_dir + "/api.sock";
        plan.argv = {binaries.firecracker, "--api-sock", plan.api_socket, "--id", vm_id};
    } else {
        const std::string exec_name = basename_of(binaries.firecracker);
        if (exec_name.find("firecracker") == std::string::npos) {
            return fail(K::InvalidInput, "the jailer only execs a file whose name contains "
                                         "'firecracker', not '" + exec_name + "'");
        }
        if (settings.chroot_base.empty() || settings.chroot_base.front() != '/') {
            return fail(K::InvalidInput, "chroot_base must be an absolute path");
        }
        plan.jailed = true;
        plan.executable = binaries.jailer;
        plan.jail_dir = settings.chroot_base + "/" + exec_name + "/" + vm_id;
        plan.jail_root = plan.jail_dir + "/root";
        // At the jail's root: the jailer chowns that directory to uid:gid so Firecracker can
        // create its socket there, which is not guaranteed for /run inside the jail.
        const std::string socket_in_jail = "/api.sock";
        plan.api_socket = plan.host_path(socket_in_jail);
        plan.argv = {binaries.jailer,
                     "--id", vm_id,
                     "--exec-file", binaries.firecracker,
                     "--uid", std::to_string(settings.jail_uid),
                     "--gid", std::to_string(settings.jail_gid),
                     "--chroot-base-dir", settings.chroot_base};
        if (!settings.netns.empty()) {
            plan.argv.insert(plan.argv.end(), {"--netns", settings.netns});
        }
        plan.argv.insert(plan.argv.end(), {"--", "--api-sock", socket_in_jail});
    }
    if (plan.api_socket.size() > host::kMaxUnixSocketPath) {
        return fail(K::InvalidInput, "the API socket path '" + plan.api_socket + "' is longer than " +
                                         std::to_string(host::kMaxUnixSocketPath) +
                                         " bytes, the most a Unix socket address holds");
    }
    return plan;
}

}  // namespace microvm::firecracker
