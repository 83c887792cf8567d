#include "cli_options.hpp"

#include <charconv>
#include <random>

namespace microvm::cli {

namespace {

Expected<uint64_t> parse_mib(const std::string& s) {
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v == 0)
        return fail(Failure::Kind::InvalidConfig,
                    "--memory: expected a positive number of MiB, got '" + s + "'");
    return v;
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

Expected<Invocation> resolve(const PolicyFlags& f) {
    Invocation inv;
    auto settings = load_settings(f.config_file.empty() ? std::nullopt
                                                        : std::optional<std::string>(f.config_file));
    if (!settings) return rtfs::unexpected(std::move(settings).error());
    inv.settings = std::move(*settings);
    if (!f.profile.empty()) {
        auto with = apply_profile(inv.settings, f.profile);
        if (!with) return rtfs::unexpected(std::move(with).error());
        inv.settings = std::move(*with);
    }
    inv.provider = f.provider.empty() ? inv.settings.default_provider : f.provider;

    MicroVMConfig c = inv.settings.default_config;
    if (!f.timeout.empty()) {
        auto t = parse_duration(f.timeout);
        if (!t) return fail(Failure::Kind::InvalidConfig, "--timeout: " + t.error().message);
        c.timeout = *t;
    }
    if (!f.memory.empty()) {
        auto m = parse_mib(f.memory);
        if (!m) return rtfs::unexpected(std::move(m).error());
        c.memory_limit_mb = *m;
    }
    if (!f.cpu.empty()) {
        auto cpu = parse_fraction(f.cpu);
        if (!cpu) return rtfs::unexpected(std::move(cpu).error());
        c.cpu_limit = *cpu;
    }
    if (!f.net.empty()) {
        auto n = NetworkPolicy::parse(f.net);
        if (!n) return fail(Failure::Kind::InvalidConfig, "--net: " + n.error().message);
        c.network_policy = std::move(*n);
    }
    if (!f.fs.empty()) {
        auto p = FileSystemPolicy::parse(f.fs);
        if (!p) return fail(Failure::Kind::InvalidConfig, "--fs: " + p.error().message);
        c.fs_policy = std::move(*p);
    }
    for (const auto& kv : f.env) {
        auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0)
            return fail(Failure::Kind::InvalidConfig, "--env: expected KEY=VALUE, got '" + kv + "'");
        c.env_vars[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    auto valid = c.validate();
    if (!valid) return rtfs::unexpected(std::move(valid).error());
    inv.config = std::move(c);

    // --allow without --security means controlled; controlled without --allow allows nothing.
    if (f.security.empty()) {
        inv.runtime_context = f.allow.empty() ? rtfs::RuntimeContext::pure()
                                              : rtfs::RuntimeContext::controlled(f.allow);
    } else if (f.security == "pure") {
        if (!f.allow.empty())
            return fail(Failure::Kind::InvalidConfig, "--allow cannot be combined with --security pure");
        inv.runtime_context = rtfs::RuntimeContext::pure();
    } else if (f.security == "controlled") {
        inv.runtime_context = rtfs::RuntimeContext::controlled(f.allow);
    } else if (f.security == "full") {
        inv.runtime_context = rtfs::RuntimeContext::full();
    } else {
        return fail(Failure::Kind::InvalidConfig,
                    "--security: expected pure, controlled or full, got '" + f.security + "'");
    }
    inv.capability_permissions = f.allow;
    return inv;
}

std::string new_execution_id() {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    char buf[17];
    uint64_t v = rng();
    for (int i = 15; i >= 0; --i) {
        buf[i] = "0123456789abcdef"[v & 0xF];
        v >>= 4;
    }
    buf[16] = '\0';
    return std::string("exec-") + buf;
}

}  // namespace microvm::cli
