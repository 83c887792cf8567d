#include "engine_request.hpp"

#include <cstdint>
#include <limits>

#include "codec_io.hpp"

namespace microvm::wasm {
namespace {

using Clock = std::chrono::steady_clock;

// Past anything a request holds (a module is bounded far below), under the format's 4 GiB.
constexpr size_t kMaxString = (1ull << 32) - 1;

// The fetch support files libcurl reads when the module may fetch: its libraries (loaded before
// the confinement), the CA certificates, the resolver's configuration. None is a secret
// (/etc/ssl/private is not among them: red team, 2026-12-07); each is read-only to the program.
const std::vector<std::string>& fetch_support_paths() {
    static const std::vector<std::string> paths = {
        "/usr/lib", "/lib", "/lib64", "/etc/ld.so.cache", "/etc/ssl/certs", "/usr/share/ca-certificates",
        "/etc/ca-certificates", "/etc/pki", "/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf",
        "/etc/gai.conf", "/etc/host.conf", "/etc/services", "/etc/gnutls"};
    return paths;
}

void strings(codec::Writer& w, const std::vector<std::string>& items) {
    w.vec(items, [&w](const std::string& s) { w.string(s); });
}

std::vector<std::string> strings(codec::Reader& r) {
    return r.vec<std::string>(4, [&r] { return r.string(); });
}

bool fits(const std::string& s) { return s.size() <= kMaxString; }

}  // namespace

std::optional<std::string> encode_engine_request(const EngineRequest& q) {
    const MicroVMConfig& c = q.config;
    const RunRequest& run = q.run;
    for (const std::string* s : {&q.compiled, &q.source, &run.stdin_data}) {
        if (!fits(*s)) return std::nullopt;
    }
    codec::Writer w;
    w.pod<uint32_t>(kEngineRequestVersion);
    w.pod<uint8_t>(static_cast<uint8_t>(q.mode));
    w.string(q.compiled);
    w.string(q.source);
    w.pod<uint64_t>(q.max_compiled);
    w.pod<int64_t>(c.timeout.count());
    w.pod<uint64_t>(c.memory_limit_mb);
    w.pod<double>(c.cpu_limit);
    w.pod<uint32_t>(static_cast<uint32_t>(c.network_policy.kind));
    strings(w, c.network_policy.hosts);
    w.pod<uint32_t>(static_cast<uint32_t>(c.fs_policy.kind));
    strings(w, c.fs_policy.paths);
    strings(w, c.fs_policy.read_only_paths);
    w.pod<uint32_t>(static_cast<uint32_t>(c.env_vars.size()));
    for (const auto& [name, value] : c.env_vars) {
        w.string(name);
        w.string(value);
    }
    w.pod<uint64_t>(c.max_output_bytes);
    w.pod<uint32_t>(c.max_processes);
    w.string(run.program_name);
    strings(w, run.args);
    w.string(run.stdin_data);
    w.pod<uint8_t>(run.result_sink ? 1 : 0);
    w.pod<uint64_t>(run.result_cap);
    w.pod<uint64_t>(run.max_call_depth);
    w.string(run.http_proxy);
    w.string(run.init_export);
    w.string(run.run_export);
    // The steady clock is the kernel's monotonic clock, the same in every process.
    w.pod<uint8_t>(run.deadline ? 1 : 0);
    w.pod<int64_t>(run.deadline ? run.deadline->time_since_epoch().count() : 0);
    w.vec(q.preopens, [&w](const EngineRequest::Preopen& p) {
        w.pod<uint32_t>(p.guest_fd);
        w.pod<uint64_t>(p.rights_base);
        w.pod<uint64_t>(p.rights_inheriting);
        w.string(p.name);
        w.pod<uint8_t>(p.read_only_tree ? 1 : 0);
    });
    strings(w, q.kept_private);
    return w.take();
}

std::optional<EngineRequest> decode_engine_request(std::string_view bytes) {
    codec::Reader r(bytes);
    EngineRequest q;
    MicroVMConfig& c = q.config;
    RunRequest& run = q.run;
    if (r.pod<uint32_t>() != kEngineRequestVersion) return std::nullopt;
    const auto mode = r.pod<uint8_t>();
    if (mode > static_cast<uint8_t>(EngineRequest::Mode::Run)) return std::nullopt;
    q.mode = static_cast<EngineRequest::Mode>(mode);
    q.compiled = r.string();
    q.source = r.string();
    q.max_compiled = r.pod<uint64_t>();
    c.timeout = std::chrono::milliseconds(r.pod<int64_t>());
    c.memory_limit_mb = r.pod<uint64_t>();
    c.cpu_limit = r.pod<double>();
    c.network_policy.kind = r.enumerator(NetworkPolicy::Kind::Full);
    c.network_policy.hosts = strings(r);
    c.fs_policy.kind = r.enumerator(FileSystemPolicy::Kind::Full);
    c.fs_policy.paths = strings(r);
    c.fs_policy.read_only_paths = strings(r);
    const uint32_t vars = r.count(8);
    for (uint32_t i = 0; i < vars && r.ok(); ++i) {
        std::string name = r.string();
        c.env_vars[std::move(name)] = r.string();
    }
    c.max_output_bytes = r.pod<uint64_t>();
    c.max_processes = r.pod<uint32_t>();
    run.program_name = r.string();
    run.args = strings(r);
    run.stdin_data = r.string();
    const auto sink = r.pod<uint8_t>();
    run.result_sink = sink == 1;
    run.result_cap = r.pod<uint64_t>();
    run.max_call_depth = r.pod<uint64_t>();
    run.http_proxy = r.string();
    run.init_export = r.string();
    run.run_export = r.string();
    const auto has_deadline = r.pod<uint8_t>();
    const auto deadline = r.pod<int64_t>();
    if (has_deadline) run.deadline = Clock::time_point(Clock::duration(deadline));
    bool flags_ok = true;
    q.preopens = r.vec<EngineRequest::Preopen>(25, [&r, &flags_ok] {
        EngineRequest::Preopen p;
        p.guest_fd = r.pod<uint32_t>();
        p.rights_base = r.pod<uint64_t>();
        p.rights_inheriting = r.pod<uint64_t>();
        p.name = r.string();
        const auto ro = r.pod<uint8_t>();
        flags_ok = flags_ok && ro <= 1;
        p.read_only_tree = ro == 1;
        return p;
    });
    q.kept_private = strings(r);
    if (!r.ok() || !r.at_end() || sink > 1 || has_deadline > 1 || !flags_ok) return std::nullopt;
    return q;
}

host::ChildRules engine_rules(const EngineRequest& q) {
    using Access = host::landlock::Access;
    host::ChildRules rules;
    if (q.mode == EngineRequest::Mode::Compile) {  // no files, no sockets
        rules.memory_bytes = kCompilerAllowance;
        return rules;
    }
    rules.files_unrestricted = q.config.fs_policy.kind == FileSystemPolicy::Kind::Full;
    if (q.config.network_policy.kind != NetworkPolicy::Kind::Denied) {
        // Under allow/block lists no socket of its own: the host hands it each connection to
        // the egress proxy (ChildChannel::request_socket).
        if (q.run.http_proxy.empty()) rules.sockets = host::ChildRules::Sockets::Internet;
        for (const std::string& p : fetch_support_paths()) rules.paths.push_back({p, Access::Read});
    }
    rules.memory_bytes = 2 * (q.config.memory_limit_mb << 20) + kInterpreterAllowance;
    return rules;
}

}  // namespace microvm::wasm
