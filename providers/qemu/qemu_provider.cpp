#include "qemu/qemu_provider.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "host/sandbox_settings.hpp"
#include "host/trusted_state.hpp"
#include "host/vm_command.hpp"
#include "qemu/qemu_shares.hpp"

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
    out.max_file_size_bytes = host::parse_rlimit_settings(s).max_file_size_bytes;
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
                                   "the image cache's current); in " + std::string(host::kProtectedStatePlaces)}}},
        {"state_dir", {{"type", "string"},
                       {"description", "private directory of the VMs (default /run/microvm-qemu; in " +
                                           std::string(host::kProtectedStatePlaces) + ")"}}},
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
                                          "(default /var/cache/microvm/qemu-templates; in " +
                                              std::string(host::kProtectedStatePlaces) + ")"}}},
        {"pool_size", {{"type", "integer"}, {"minimum", 0}, {"maximum", 16},
                       {"description", "restored VMs kept ready for the last restorable machine "
                                       "(default 0: none)"}}},
        {"boot_timeout_ms", {{"type", "integer"}, {"minimum", 1000}, {"maximum", 600000},
                             {"description", "how long a VM may take to start its agent"}}},
    };
    p["max_file_size_mb"] = host::rlimit_settings_schema()["max_file_size_mb"];
    p["max_file_size_mb"]["description"] =
        "RLIMIT_FSIZE of QEMU: the largest file a guest writes on the host through a writable "
        "share (default 1024; beyond it the write fails with EFBIG)";
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
    // What the backend checks again and opens at the run (qemu_shares.hpp).
    (void)qemu::check_shares(fs, problems);
    // Each share is a virtio device; beyond the machine's transports QEMU would refuse to start.
    const size_t shares = fs.paths.size() + (fs.kind == FileSystemPolicy::Kind::ReadWrite ? fs.read_only_paths.size() : 0);
    const bool net_device = ctx.config.network_policy.kind != NetworkPolicy::Kind::Denied;
    const size_t room = qemu::kVirtioTransports - qemu::kFixedVirtioDevices - (net_device ? 1 : 0);
    if (fs.kind != FileSystemPolicy::Kind::Full && fs.kind != FileSystemPolicy::Kind::None && shares > room) {
        problems.push_back({"fs_policy", std::to_string(shares) + " directories named: a qemu VM shares at most " +
                                             std::to_string(room) + (net_device ? " beside its network device" : "") +
                                             " (each is a virtio device, and the machine has " +
                                             std::to_string(qemu::kVirtioTransports) + ")"});
    }
}

}  // namespace microvm
