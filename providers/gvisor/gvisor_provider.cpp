#include "gvisor/gvisor_provider.hpp"

#include <sys/stat.h>

#include <cstdio>

#include "gvisor/launch_message.hpp"
#include "gvisor/oci_spec.hpp"
#include "host/sandbox_settings.hpp"
#include "host/trusted_state.hpp"
#include "microvm/built_programs.hpp"

namespace microvm {
namespace {

Expected<gvisor::RuntimeSettings> parse_settings(const nlohmann::json& s) {
    gvisor::RuntimeSettings out;
    if (!s.is_object()) return fail(Failure::Kind::InvalidConfig, "settings must be an object");
    auto text = [&](const char* key, std::string& into) {
        if (auto it = s.find(key); it != s.end() && it->is_string()) into = it->get<std::string>();
    };
    text("runsc", out.runsc);
    text("platform", out.platform);
    text("cgroup_parent", out.cgroup_parent);
    text("state_dir", out.state_base);
    if (auto it = s.find("one_shot_launcher"); it != s.end() && it->is_boolean()) out.one_shot_launcher = it->get<bool>();
    const host::RlimitSettings rlimits = host::parse_rlimit_settings(s);  // validated
    out.max_file_size_bytes = rlimits.max_file_size_bytes;
    out.max_open_files = rlimits.max_open_files;
    return out;
}

}  // namespace

GvisorProvider::GvisorProvider() = default;
GvisorProvider::~GvisorProvider() = default;

Availability GvisorProvider::availability() const {
    std::call_once(probed_, [this] {
        auto runtime = gvisor::Runtime::create({});
        if (!runtime) {
            availability_ = {false, runtime.error().message};
            return;
        }
        // Available either way; without a trusted launcher a one-shot run is slower (its boot
        // at cpu_limit) and nothing can be built ahead: say so where the operator looks
        // (`microvm providers`), never only in a run's time.
        std::string note;
        if (auto launcher = gvisor::require_launcher(); !launcher) {
            note = "without the launcher: " + launcher.error().message +
                   (default_search(kGvisorLauncher).env
                        ? "; every run fails while $MICROVM_GVISOR_LAUNCHER names it"
                        : "; one-shot runs boot at cpu_limit, none is built ahead");
        }
        availability_ = {true, std::move(note)};
        std::lock_guard lock(probed_mu_);
        probed_runtime_ = std::move(*runtime);
    });
    return availability_;
}

std::string GvisorProvider::platform() const {
    auto* runtime = dynamic_cast<const gvisor::Runtime*>(backend());
    return runtime ? runtime->platform() : "";
}

nlohmann::json GvisorProvider::config_schema() const {
    nlohmann::json properties = {{"runsc",
               {{"type", "string"},
                {"description", "absolute path of the runsc binary (default: found on PATH)"}}},
              {"platform",
               {{"type", "string"},
                {"enum", {"ptrace", "systrap"}},
                {"description",
                 "gVisor platform (default: systrap when this runsc has it and a probe succeeds, "
                 "else ptrace). KVM is not offered: without usable nested virtualisation it "
                 "hangs instead of failing."}}},
              {"cgroup_parent",
               {{"type", "string"},
                {"description",
                 "cgroup (path from each hierarchy's root) under which container cgroups are "
                 "created; default: the host process's own cgroup"}}},
              {"state_dir",
               {{"type", "string"},
                {"description",
                 "existing directory holding the provider's private runsc state and bundles "
                 "(default /run; else in " + std::string(host::kProtectedStatePlaces) + ")"}}},
              {"one_shot_launcher",
               {{"type", "boolean"},
                {"description",
                 "run each one-shot program through microvm-gvisor-launcher where it is installed "
                 "(default true): the sandbox boots at every CPU the cgroup parent allows, and the "
                 "program's CPU share, timeout, duration, CPU time and memory peak apply from its "
                 "launch. false: runsc runs the program itself; the boot is held to cpu_limit and "
                 "counted in the run"}}}};
    properties.update(host::rlimit_settings_schema());
    return {{"type", "object"}, {"properties", properties}, {"additionalProperties", false}};
}

void GvisorProvider::check_backend(const ExecutionContext& ctx,
                                   std::vector<Unsupported>& problems) const {
    // gVisor's file proxy writes as root on the program's behalf and cannot go through an
    // idmapped bind, so a writable path must already be writable by the sandbox's user.
    if (ctx.config.fs_policy.kind == FileSystemPolicy::Kind::ReadWrite) {
        for (const std::string& path : ctx.config.fs_policy.paths) {
            struct stat st;
            if (::stat(path.c_str(), &st) != 0) continue;  // reported when the root is planned
            const bool writable = (st.st_uid == gvisor::kSandboxUid && (st.st_mode & S_IWUSR)) ||
                                  (st.st_gid == gvisor::kSandboxGid && (st.st_mode & S_IWGRP)) ||
                                  (st.st_mode & S_IWOTH);
            if (!writable) {
                char mode[8];
                std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
                problems.push_back(
                    {"fs_policy", "'" + path + "' is not writable by the sandbox's user " +
                                      std::to_string(gvisor::kSandboxUid) + " (owner uid " +
                                      std::to_string(st.st_uid) + ", mode " + mode +
                                      ") and gVisor cannot map its owner to it; make it "
                                      "writable by that user, or use the process provider"});
            }
        }
    }
}

Expected<std::unique_ptr<host::SandboxBackend>> GvisorProvider::make_backend(
    const nlohmann::json& settings) {
    RTFS_TRY(gvisor::RuntimeSettings parsed, parse_settings(settings));
    {
        std::lock_guard lock(probed_mu_);
        std::unique_ptr<gvisor::Runtime> probed = std::move(probed_runtime_);  // used once at most
        if (probed && parsed == gvisor::RuntimeSettings{}) {
            return std::unique_ptr<host::SandboxBackend>(std::move(probed));
        }
    }
    RTFS_TRY(std::unique_ptr<gvisor::Runtime> runtime, gvisor::Runtime::create(parsed));
    return std::unique_ptr<host::SandboxBackend>(std::move(runtime));
}

std::optional<std::string> GvisorProvider::host_lists_refusal() const {
    // The sentry's loopback is its own (netstack), so no host listener can sit on it as it does
    // in the process sandbox; the one way from --network=none to a host proxy is a host Unix
    // socket, and runsc's --host-uds=open grants connect(2) to every host socket file the
    // container's mounts show (fs ro=/ shows the host's daemons' sockets), not to one path.
    return "the egress proxy cannot be made gVisor's only way out with this runsc: with "
           "--network=none a host proxy is reachable only through --host-uds=open, which lets "
           "the program connect to every host Unix socket its mounts expose; use the process "
           "provider for allow/block lists, or deny or full";
}

}  // namespace microvm
