#include "firecracker/firecracker_provider.hpp"

#include <cstdlib>

#include "firecracker/firecracker_backend.hpp"
#include "host/trusted_state.hpp"
#include "host/guest_image.hpp"
#include "host/vm_command.hpp"
#include "microvm/config.hpp"

namespace microvm {
namespace {

firecracker::FcProviderSettings parse_settings(const nlohmann::json& s) {
    firecracker::FcProviderSettings out;
    if (!s.is_object()) return out;
    auto text = [&](const char* key, std::string& into) {
        if (auto it = s.find(key); it != s.end() && it->is_string()) into = it->get<std::string>();
    };
    text("binary", out.launch.binary);
    text("jailer", out.launch.jailer);
    text("image", out.image);
    text("state_dir", out.state_dir);
    if (auto it = s.find("use_jailer"); it != s.end() && it->is_boolean()) out.launch.use_jailer = *it;
    return out;
}

}  // namespace

Availability FirecrackerProvider::availability() const {
    std::call_once(probed_, [this] {
        const char* path = std::getenv("PATH");
        availability_ = firecracker::check_availability({}, path ? path : "");
        if (availability_.available) {
            if (auto img = host::find_guest_image(""); !img) availability_ = {false, img.error().message};
        }
    });
    return availability_;
}

nlohmann::json FirecrackerProvider::config_schema() const {
    nlohmann::json p = {
        {"binary", {{"type", "string"}, {"description", "firecracker binary (default: PATH)"}}},
        {"jailer", {{"type", "string"}, {"description", "jailer binary (default: PATH)"}}},
        {"use_jailer", {{"type", "boolean"}, {"description", "run through the jailer when found"}}},
        {"image", {{"type", "string"}, {"description", "guest image directory, in " + std::string(host::kProtectedStatePlaces)}}},
        {"state_dir", {{"type", "string"}, {"description", "private VM directories (default /run/microvm-firecracker; in " +
                                                                       std::string(host::kProtectedStatePlaces) + ")"}}},
    };
    return {{"type", "object"}, {"properties", p}, {"additionalProperties", false}};
}

Expected<std::unique_ptr<host::SandboxBackend>> FirecrackerProvider::make_backend(
    const nlohmann::json& settings) {
    RTFS_TRY(std::unique_ptr<firecracker::FirecrackerBackend> b,
             firecracker::FirecrackerBackend::create(parse_settings(settings)));
    return std::unique_ptr<host::SandboxBackend>(std::move(b));
}

rtfs::Expected<host::Command, host::CommandError> FirecrackerProvider::resolve(
    const ExecutionContext& ctx) const {
    return host::command_in_image(ctx);
}

void FirecrackerProvider::check_backend(const ExecutionContext& ctx,
                                        std::vector<Unsupported>& problems) const {
    // Firecracker has no 9p and this provider sets up no tap device: only the image, no network.
    if (ctx.config.fs_policy.kind != FileSystemPolicy::Kind::None) {
        problems.push_back({"fs_policy", "firecracker shares no host directories (no 9p/virtiofs "
                                         "in Firecracker); use none, or the qemu provider"});
    }
    if (ctx.config.network_policy.kind != NetworkPolicy::Kind::Denied) {
        problems.push_back({"network_policy", "firecracker runs without a network device here "
                                              "(no tap set-up yet); use deny, or the qemu provider"});
    }
    // The VM has one vCPU, so a share of one core or more holds by construction; a smaller share
    // needs a CPU quota on the Firecracker process, which runs in no host cgroup yet.
    if (ctx.config.cpu_limit < 1.0) {
        problems.push_back({"cpu_limit " + format_cpu_share(ctx.config.cpu_limit),
                            "firecracker runs its VM's one vCPU unthrottled (the Firecracker "
                            "process is in no CPU-limited host cgroup yet); use cpu_limit >= 1, "
                            "or the qemu provider"});
    }
}

}  // namespace microvm
