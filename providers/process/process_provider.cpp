#include "process/process_provider.hpp"

#include <unistd.h>

#include "host/sandbox_settings.hpp"

namespace microvm {
namespace {

Expected<process::SandboxSettings> parse_settings(const nlohmann::json& s) {
    process::SandboxSettings out;
    if (!s.is_object()) return fail(Failure::Kind::InvalidConfig, "settings must be an object");
    if (auto it = s.find("cgroup_parent"); it != s.end() && it->is_string()) {
        out.cgroup_parent = it->get<std::string>();
    }
    out.rlimits = host::parse_rlimit_settings(s);  // validated against config_schema()
    return out;
}

}  // namespace

ProcessProvider::ProcessProvider() = default;
ProcessProvider::~ProcessProvider() = default;

Availability ProcessProvider::availability() const {
    std::call_once(probed_, [this] {
        auto sandbox = process::Sandbox::create({});
        if (!sandbox) {
            availability_ = {false, sandbox.error().message};
            return;
        }
        availability_ = (*sandbox)->probe();
        std::lock_guard lock(probe_mu_);
        if (availability_.available) probed_sandbox_ = std::move(*sandbox);
    });
    return availability_;
}

Availability ProcessProvider::availability_under(const nlohmann::json& settings) const {
    auto parsed = parse_settings(settings);
    if (!parsed || parsed->cgroup_parent.empty()) return availability();
    auto sandbox = process::Sandbox::create(*parsed);
    if (!sandbox) return {false, sandbox.error().message};
    Availability probed = (*sandbox)->probe();
    std::lock_guard lock(probe_mu_);
    if (probed.available) probed_sandbox_ = std::move(*sandbox);
    return probed;
}

nlohmann::json ProcessProvider::config_schema() const {
    nlohmann::json properties = {{"cgroup_parent",
               {{"type", "string"},
                {"description",
                 "cgroup (path from each hierarchy's root) under which sandbox cgroups are "
                 "created; default: the host process's own cgroup. With cgroup v2 it must be a "
                 "delegated cgroup holding no processes."}}}};
    properties.update(host::rlimit_settings_schema());
    properties.update(host::egress_settings_schema());
    return {{"type", "object"}, {"properties", properties}, {"additionalProperties", false}};
}

// Where the host is not root, the program runs with the user's own uid: under full it writes
// whatever the user can, the user's settings and boot records included, which every later run
// trusts. A sandbox planted an allow-all seccomp filter that every later sandbox of the user ran
// under (red team, 2026-12-06). Refused; as root the program's uid owns nothing of the host's.
void ProcessProvider::check_backend(const ExecutionContext& ctx, std::vector<Unsupported>& problems) const {
    if (ctx.config.fs_policy.kind == FileSystemPolicy::Kind::Full && ::geteuid() != 0) {
        problems.push_back({"fs_policy",
                            "full runs the program with this user's own uid, able to write everything the user can, "
                            "the user's settings and this project's state that later runs trust included (only a root "
                            "host runs it as a user that owns nothing); grant what it needs with ro= and rw="});
    }
}

Expected<std::unique_ptr<host::SandboxBackend>> ProcessProvider::make_backend(
    const nlohmann::json& settings) {
    RTFS_TRY(process::SandboxSettings parsed, parse_settings(settings));
    {
        std::lock_guard lock(probe_mu_);
        if (probed_sandbox_ && probed_sandbox_->settings() == parsed) {
            return std::unique_ptr<host::SandboxBackend>(std::move(probed_sandbox_));
        }
    }
    RTFS_TRY(std::unique_ptr<process::Sandbox> sandbox, process::Sandbox::create(parsed));
    auto usable = sandbox->probe();  // e.g. a cgroup_parent that cannot hold sandboxes
    if (!usable.available) return fail(Failure::Kind::SetupError, usable.reason);
    return std::unique_ptr<host::SandboxBackend>(std::move(sandbox));
}

}  // namespace microvm
