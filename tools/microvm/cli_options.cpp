#include "cli_options.hpp"

#include <charconv>
#include <cstdlib>

#include "host/trusted_state.hpp"
#include "microvm/security_level.hpp"
#include "microvm/decimal.hpp"

namespace microvm::cli {

namespace {

Expected<uint64_t> parse_mib(const std::string& s) {
    const std::optional<uint64_t> v = parse_decimal<uint64_t>(s);
    if (!v || *v == 0)
        return fail(Failure::Kind::InvalidConfig,
                    "--memory: expected a positive number of MiB, got '" + s + "'");
    return *v;
}

Expected<double> parse_fraction(const std::string& s) {
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || !(v > 0))
        return fail(Failure::Kind::InvalidConfig,
                    "--cpu: expected a positive fraction of a core like 0.5, got '" + s + "'");
    return v;
}

}  // namespace

Expected<void> check_given(const PolicyFlags& f) {
    // Every flag given must carry a value.
    const std::pair<const char*, const std::optional<std::string>*> given[] = {
        {"--provider", &f.provider}, {"--timeout", &f.timeout},   {"--memory", &f.memory},
        {"--cpu", &f.cpu},           {"--net", &f.net},
        {"--security", &f.security}, {"--capability", &f.capability},
        {"--config", &f.config_file}, {"--profile", &f.profile}};
    for (const auto& [flag, value] : given) {
        if (*value && (*value)->empty()) {
            return fail(Failure::Kind::InvalidConfig, std::string(flag) + ": empty value");
        }
    }
    for (const auto& [flag, values] : {std::pair{"--allow", &f.allow}, std::pair{"--fs", &f.fs}}) {
        for (const std::string& v : *values) {
            if (v.empty()) return fail(Failure::Kind::InvalidConfig, std::string(flag) + ": empty value");
        }
    }
    return Ok{};
}

Expected<void> apply_policy_flags(const PolicyFlags& f, MicroVMConfig& c) {
    if (f.timeout) {
        auto t = parse_duration(*f.timeout);
        if (!t) return fail(Failure::Kind::InvalidConfig, "--timeout: " + t.error().message);
        c.timeout = *t;
    }
    if (f.memory) {
        RTFS_TRY(c.memory_limit_mb, parse_mib(*f.memory));
    }
    if (f.cpu) {
        RTFS_TRY(c.cpu_limit, parse_fraction(*f.cpu));
    }
    if (f.net) {
        auto n = NetworkPolicy::parse(*f.net);
        if (!n) return fail(Failure::Kind::InvalidConfig, "--net: " + n.error().message);
        c.network_policy = std::move(*n);
    }
    for (size_t i = 0; i < f.fs.size(); ++i) {
        auto p = FileSystemPolicy::parse(f.fs[i]);
        if (p && i > 0) p = FileSystemPolicy::combine(c.fs_policy, *p);
        if (!p) return fail(Failure::Kind::InvalidConfig, "--fs: " + p.error().message);
        c.fs_policy = std::move(*p);
    }
    for (const auto& kv : f.env) {
        auto eq = kv.find('=');
        if (eq == 0 || kv.empty())
            return fail(Failure::Kind::InvalidConfig, "--env: expected KEY=VALUE or KEY, got '" + kv + "'");
        if (eq != std::string::npos) {
            c.env_vars[kv.substr(0, eq)] = kv.substr(eq + 1);
            continue;
        }
        // KEY alone: the value from this process's environment, as docker's -e KEY. A secret
        // given as KEY=VALUE is in the command line, which every local user reads in
        // /proc/PID/cmdline (red team, 2026-12-05).
        const char* value = std::getenv(kv.c_str());
        if (!value)
            return fail(Failure::Kind::InvalidConfig, "--env " + kv + ": " + kv + " is not set in this environment");
        c.env_vars[kv] = value;
    }
    return Ok{};
}

Expected<Invocation> resolve(const PolicyFlags& f) {
    RTFS_CHECK(check_given(f));

    Invocation inv;
    RTFS_TRY(inv.settings, load_settings(f.config_file));
    if (f.profile) {
        RTFS_TRY(inv.settings, apply_profile(inv.settings, *f.profile));
    }
    inv.provider = f.provider.value_or(inv.settings.default_provider);
    // Every provider's state directories are out of the sandbox's write reach, not only this one's.
    host::protect_configured_state(inv.settings.provider_configs);
    // And the settings file read, wherever --config named it (red team, 2026-12-04).
    if (!inv.settings.source_file.empty()) host::protect_trusted_state(inv.settings.source_file);

    // An execution performing a capability starts from that capability's settings.
    MicroVMConfig c = f.capability ? config_for_capability(inv.settings, *f.capability)
                                   : inv.settings.default_config;
    RTFS_CHECK(apply_policy_flags(f, c));
    RTFS_CHECK(c.validate());
    inv.config = std::move(c);

    RTFS_TRY(inv.runtime_context,
             runtime_context_for(f.security, f.allow, "--security", "--allow"));
    inv.capability_permissions = f.allow;
    inv.capability_id = f.capability;
    return inv;
}

}  // namespace microvm::cli
