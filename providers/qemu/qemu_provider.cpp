#include "qemu/qemu_provider.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "host/paths.hpp"
#include "host/policy_source.hpp"
#include "host/trusted_state.hpp"
#include "host/vm_command.hpp"
#include "qemu/qemu_vm.hpp"

namespace microvm {
namespace {

using host::Command;
using host::CommandError;

qemu::QemuSettings parse_settings(const nlohmann::json& s) {
    qemu::QemuSettings out;
    if (!s.is_object()) return out;
    auto text = [&](const char* key, std::string& into) {
        if (auto it = s.find(key); it != s.end() && it->is_string()) into = it->get<std::string>();
    };
    text("qemu", out.qemu);
    text("image", out.image);
    text("state_dir", out.state_dir);
    text("cgroup_parent", out.cgroup_parent);
    text("accel", out.accel);
    text("start", out.start);
    text("template_dir", out.template_dir);
    if (auto it = s.find("pool_size"); it != s.end() && it->is_number_integer() && it->get<int64_t>() >= 0) {
        out.pool_size = static_cast<unsigned>(std::min<int64_t>(it->get<int64_t>(), 16));
    }
    // Any non-negative integer: a JSON literal built in C++ (2000) is a signed one, which an
    // unsigned-only check would have ignored silently (the schema bounds it to 1000..600000).
    if (auto it = s.find("boot_timeout_ms");
        it != s.end() && it->is_number_integer() && (it->is_number_unsigned() || it->get<int64_t>() >= 0)) {
        out.boot_timeout_ms = it->get<uint64_t>();
    }
    return out;
}

std::string image_note(const qemu::HostSetup& h) {
    return h.accel_why + "; image " + h.image.dir + " (kernel " + h.image.kernel_release + ")";
}

}  // namespace

Availability QemuProvider::availability() const {
    std::call_once(probed_, [this] {
        if (::geteuid() != 0) {
            availability_ = {false, "needs root (QEMU is started as an unprivileged uid in its own "
                                    "namespaces and host cgroup)"};
            return;
        }
        auto h = qemu::probe_host({});
        availability_ = h ? Availability{true, image_note(*h)} : Availability{false, h.error().message};
    });
    return availability_;
}

nlohmann::json QemuProvider::config_schema() const {
    nlohmann::json p = {
        {"qemu", {{"type", "string"}, {"description", "qemu-system-x86_64 binary (default: /usr/bin)"}}},
        {"image", {{"type", "string"},
                   {"description", "guest image directory (default: $MICROVM_GUEST_IMAGE, else "
                                   "the image cache's current)"}}},
        {"state_dir", {{"type", "string"},
                       {"description", "private directory of the VMs (default /run/microvm-qemu)"}}},
        {"cgroup_parent", {{"type", "string"},
                           {"description", "cgroup under which QEMU's cgroups are created"}}},
        {"accel", {{"type", "string"},
                   {"enum", {"auto", "kvm", "tcg"}},
                   {"description", "auto: KVM when a probe guest runs under it, else TCG"}}},
        {"start", {{"type", "string"},
                   {"enum", {"auto", "cold"}},
                   {"description", "auto: restore each VM from a template snapshot when the policy "
                                   "allows (fs none, net deny), else cold boot; cold: always cold boot"}}},
        {"template_dir", {{"type", "string"},
                          {"description", "cache of template snapshots, a 0700 directory of root "
                                          "(default /var/cache/microvm/qemu-templates)"}}},
        {"pool_size", {{"type", "integer"}, {"minimum", 0}, {"maximum", 16},
                       {"description", "restored VMs kept ready for the last restorable machine "
                                       "(default 0: none)"}}},
        {"boot_timeout_ms", {{"type", "integer"}, {"minimum", 1000}, {"maximum", 600000},
                             {"description", "how long a VM may take to start its agent"}}},
    };
    p.update(host::egress_settings_schema());  // its allow/block lists go through the proxy
    return {{"type", "object"}, {"properties", p}, {"additionalProperties", false}};
}

Expected<std::unique_ptr<host::SandboxBackend>> QemuProvider::make_backend(
    const nlohmann::json& settings) {
    RTFS_TRY(std::unique_ptr<qemu::QemuBackend> b, qemu::QemuBackend::create(parse_settings(settings)));
    return std::unique_ptr<host::SandboxBackend>(std::move(b));
}

rtfs::Expected<Command, CommandError> QemuProvider::resolve(const ExecutionContext& ctx) const {
    return host::command_in_image(ctx);
}

std::optional<std::string> QemuProvider::host_lists_refusal() const {
    // The tap device and its address are made in QEMU's network namespace before QEMU drops to
    // its unprivileged uid (qemu_vm.hpp), which only a root host does.
    if (::geteuid() != 0) {
        return "qemu enforces allow/block lists with a tap device in QEMU's own network "
               "namespace, which needs a root host";
    }
    if (::access("/dev/net/tun", R_OK | W_OK) != 0) {
        return "qemu enforces allow/block lists with a tap device, and /dev/net/tun is not "
               "usable here";
    }
    return std::nullopt;
}

void QemuProvider::check_backend(const ExecutionContext& ctx,
                                 std::vector<Unsupported>& problems) const {
    const FileSystemPolicy& fs = ctx.config.fs_policy;
    if (fs.kind == FileSystemPolicy::Kind::Full) {
        problems.push_back({"fs_policy", "qemu shares only the directories a policy names (9p); "
                                         "`full` would share the host's whole file system"});
    }
    if (ctx.program && std::holds_alternative<RtfsSource>(*ctx.program) &&
        ctx.config.network_policy.kind != NetworkPolicy::Kind::Denied) {
        problems.push_back({"network_policy", "RTFS in the VM agent has no HTTP client (its static "
                                              "build has no libcurl); run a program instead"});
    }
    // QEMU serves 9p as an unprivileged uid: every named directory must be a directory it can
    // enter (and, writable ones, write), or the guest would see failures rather than a refusal.
    std::vector<std::pair<std::string, bool>> dirs;
    if (fs.kind == FileSystemPolicy::Kind::ReadOnly) {
        for (const auto& p : fs.paths) dirs.push_back({p, false});
    } else if (fs.kind == FileSystemPolicy::Kind::ReadWrite) {
        for (const auto& p : fs.read_only_paths) dirs.push_back({p, false});
        for (const auto& p : fs.paths) dirs.push_back({p, true});
    }
    // QEMU opens each share's root by path, following symlinks: the path goes through the checks
    // every provider's bind sources go through (host/policy_source.hpp). A symlink a guest
    // planted through an earlier rw share (its 9p creates real host symlinks) would otherwise
    // share /proc or anything else with a later run, and /sys, /dev/shm or a kernel file
    // system could be named outright (red team, 2026-12-03).
    host::MountTable mounts;
    std::vector<std::pair<std::string, bool>> checked;  // real paths, writable
    for (const auto& [path, writable] : dirs) {
        struct stat st;
        if (path.empty() || path.front() != '/' || ::stat(path.c_str(), &st) != 0) {
            problems.push_back({"fs_policy", "'" + path + "' is not an existing absolute path"});
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            problems.push_back({"fs_policy", "'" + path + "' is not a directory: qemu shares directories (9p)"});
            continue;
        }
        auto source = host::check_policy_source(path, mounts);
        if (!source) {
            problems.push_back({"fs_policy", source.error().message});
            continue;
        }
        // A user's host runs QEMU as the user, whose 9p writes the user's records would trust.
        if (writable) {
            if (auto refused = host::refuse_writable_trusted_state(source->real_path, "fs_policy path");
                !refused) {
                problems.push_back({"fs_policy", refused.error().message});
                continue;
            }
        }
        checked.push_back({source->real_path, writable});
        const bool root = ::geteuid() == 0;
        auto may = [&](mode_t owner, mode_t other) {
            // Under a root host each QEMU has a uid of its own (qemu_vm.hpp): only the group
            // nogroup's bits and other's can let it in. Otherwise QEMU is the caller.
            if (!root && st.st_uid == ::geteuid()) return (st.st_mode & owner) != 0;
            return (st.st_gid == qemu::kQemuGid && (st.st_mode & (owner >> 3))) ||
                   (st.st_mode & other);
        };
        if (!may(S_IXUSR, S_IXOTH) || (writable && !may(S_IWUSR, S_IWOTH))) {
            char mode[8];
            std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
            problems.push_back({"fs_policy", "'" + path + "' is not " +
                                                 (writable ? "writable" : "accessible") +
                                                 " by QEMU's unprivileged uid, which is "
                                                 "neither its owner nor in group " +
                                                 std::to_string(qemu::kQemuGid) + " (owner uid " +
                                                 std::to_string(st.st_uid) + ", mode " + mode + ")"});
        }
    }
    // A read-only share inside a writable one would be read-only only by the guest kernel's
    // mount: the writable export covers it on the host, and the program may own that kernel.
    for (const auto& [ro, ro_writable] : checked) {
        if (ro_writable) continue;
        for (const auto& [rw, rw_writable] : checked) {
            if (rw_writable && host::is_within(ro, rw)) {
                problems.push_back({"fs_policy", "read-only '" + ro + "' lies inside writable '" +
                                                     rw + "', which QEMU shares writable whole "
                                                     "(only the guest kernel would keep it read-only)"});
            }
        }
    }
}

}  // namespace microvm
