#include "daemon_flags.hpp"

#include <algorithm>
#include <utility>

#include "microvm/policy.hpp"

namespace microvm::service {
namespace {

Expected<std::chrono::milliseconds> duration_flag(const std::string& flag, const std::string& text) {
    auto d = parse_duration(text);
    if (!d) return fail(Failure::Kind::InvalidConfig, flag + ": " + d.error().message);
    return *d;
}

// At least a second.
Expected<std::chrono::seconds> seconds_flag(const std::string& flag, const std::string& text) {
    RTFS_TRY(auto d, duration_flag(flag, text));
    return std::max(std::chrono::seconds(1), std::chrono::duration_cast<std::chrono::seconds>(d));
}

rtfs::Unexpected<Failure> refuse(const std::string& why) { return fail(Failure::Kind::InvalidConfig, why); }

}  // namespace

void add_daemon_flags(CLI::App& app, DaemonFlags& f) {
    app.add_option("--listen", f.listens,
                   "unix:PATH or tcp:HOST:PORT (repeatable; default unix:" + default_unix_socket_path() + ")")
        ->allow_extra_args(false);
    app.add_option("--token-file", f.token_file, "Bearer tokens for TCP listeners (ID:SECRET per line, mode 0600)");
    app.add_option("--tls-cert", f.tls_cert, "PEM certificate chain: TCP listeners serve TLS");
    app.add_option("--tls-key", f.tls_key, "PEM private key for --tls-cert");
    app.add_option("--config", f.config_file, "Settings file (TOML), as for microvm");
    app.add_option("--profile", f.profile, "Settings profile");
    app.add_option("--audit-log", f.audit_log, "Append-only JSON Lines audit log");
    app.add_option("--audit-fsync", f.audit_fsync, "never | always (fdatasync after each record)");
    app.add_option("--state-dir", f.state_dir, "Directory for sessions' work directories (default " + default_state_dir() + ")");
    app.add_option("--max-concurrency", f.concurrency, "Executions running at once per provider");
    app.add_option("--max-queue", f.queue, "Executions waiting per provider before 429");
    app.add_option("--max-connections", f.max_connections, "Open connections before 503");
    app.add_option("--max-request-kib", f.max_request_kib, "Largest JSON body (KiB)");
    app.add_option("--max-file-mib", f.max_file_mib, "Largest file upload/download (MiB)");
    app.add_option("--max-output-mib", f.max_output_mib,
                   "Most output a request may ask kept per stream (max_output_bytes, MiB)");
    app.add_option("--max-body-mib", f.max_body_mib,
                   "Request bodies held in memory at once, all connections together (MiB); over it: 503 + Retry-After");
    app.add_option("--max-per-client-executions", f.client_executions,
                   "Executions one client (token id; uid on the Unix socket) may have running or queued per provider "
                   "(default: half of --max-concurrency + --max-queue, rounded up); over it: 429");
    app.add_option("--max-per-client-running", f.client_running,
                   "Executions one client may have running at once per provider; more wait in the queue while "
                   "other clients' start (default: --max-concurrency - 1, at least 1; --max-concurrency: no limit)");
    app.add_option("--max-per-client-sandboxes", f.client_sandboxes,
                   "Sessions one client may hold (default: half of --max-sandboxes, rounded up); over it: 429");
    app.add_option("--max-per-client-body-mib", f.client_body_mib,
                   "Request bodies one client may have in memory at once (MiB; default: half of --max-body-mib, "
                   "rounded up, at least one request at its limit); over it: 429");
    app.add_option("--max-connections-per-peer", f.connections_per_peer,
                   "Open connections from one address (uid on the Unix socket) (default: 32, or half of "
                   "--max-connections if smaller); over it, the address's oldest connection with no authenticated request "
                   "in progress is closed, or when all serve one: 429 and close");
    app.add_option("--request-timeout", f.request_timeout, "A whole request (headers and body) must arrive within it");
    app.add_option("--max-sandboxes", f.max_sessions, "Sessions alive at once");
    app.add_option("--session-sandboxes-ahead", f.session_sandboxes,
                   "Sessions whose next exec has a sandbox built ahead (the most recently used; 0: none; default 16)");
    app.add_option("--session-disk-mib", f.session_disk_mib,
                   "Each session's work directory is a tmpfs of this size, its files' quota (default 256 where the "
                   "daemon can mount one, else none; 0: none)");
    app.add_option("--sandbox-idle-timeout", f.session_idle, "A session unused this long ends");
    app.add_option("--sandbox-max-lifetime", f.session_max, "A session ends at this age");
    app.add_option("--grace", f.grace, "On SIGTERM: how long running requests may take before they are cancelled");
    app.add_flag("--allow-unisolated", f.allow_unisolated,
                 "Also serve providers with no isolation (mock): they run programs inside the daemon "
                 "itself, as its user; for trusted clients only");
}

Expected<void> check_daemon_flags(const DaemonFlags& f) {
    if (f.tls_cert.has_value() != f.tls_key.has_value()) return refuse("--tls-cert and --tls-key go together");
    if (f.audit_fsync != "never" && f.audit_fsync != "always") return refuse("--audit-fsync: expected never or always");
    // Sizes are shifted into bytes below: bounded first (1 TiB), so no shift can wrap.
    if (f.max_request_kib > (size_t{1} << 30) || f.max_file_mib > (size_t{1} << 20) || f.max_body_mib > (size_t{1} << 20))
        return refuse("--max-request-kib, --max-file-mib and --max-body-mib are limited to 1 TiB");
    if (f.max_output_mib < 1 || f.max_output_mib > 1024)
        return refuse("--max-output-mib: between 1 and 1024 (a run keeps at most 1 GiB per stream)");
    const size_t one_request = std::max(f.max_file_mib << 20, f.max_request_kib << 10);
    if ((f.max_body_mib << 20) < one_request)
        return refuse("--max-body-mib must hold at least one request at its limit (--max-file-mib, --max-request-kib)");
    // The per-client quotas (docs/service.md): at least 1, at most the capacity they share.
    if (f.client_executions && (*f.client_executions < 1 || *f.client_executions > f.concurrency + f.queue))
        return refuse("--max-per-client-executions: between 1 and --max-concurrency + --max-queue (" +
                      std::to_string(f.concurrency + f.queue) + ")");
    if (f.client_running && (*f.client_running < 1 || *f.client_running > f.concurrency))
        return refuse("--max-per-client-running: between 1 and --max-concurrency (" + std::to_string(f.concurrency) +
                      ": no limit)");
    if (f.client_sandboxes && (*f.client_sandboxes < 1 || *f.client_sandboxes > f.max_sessions))
        return refuse("--max-per-client-sandboxes: between 1 and --max-sandboxes (" + std::to_string(f.max_sessions) + ")");
    if (f.client_body_mib && (*f.client_body_mib > f.max_body_mib || (*f.client_body_mib << 20) < one_request))
        return refuse("--max-per-client-body-mib: between one request at its limit (--max-file-mib, --max-request-kib) "
                      "and --max-body-mib (" + std::to_string(f.max_body_mib) + ")");
    if (f.connections_per_peer && (*f.connections_per_peer < 1 || *f.connections_per_peer > f.max_connections))
        return refuse("--max-connections-per-peer: between 1 and --max-connections (" + std::to_string(f.max_connections) + ")");
    if (f.session_disk_mib && *f.session_disk_mib > (uint64_t{1} << 30)) return refuse("--session-disk-mib: at most 1073741824");
    return Ok{};
}

Expected<ServiceOptions> service_options(const DaemonFlags& f, const Settings& settings) {
    ServiceOptions opts;
    opts.settings = settings;
    opts.max_client_executions = f.client_executions.value_or(0);
    opts.max_client_running = f.client_running.value_or(0);
    opts.max_client_sessions = f.client_sandboxes.value_or(0);
    opts.max_client_body_bytes = f.client_body_mib.value_or(0) << 20;
    opts.admission = {f.concurrency, f.queue};
    opts.max_request_bytes = f.max_request_kib << 10;
    opts.max_file_bytes = f.max_file_mib << 20;
    opts.max_body_bytes_held = f.max_body_mib << 20;
    opts.max_output_bytes = uint64_t{f.max_output_mib} << 20;
    opts.state_dir = f.state_dir.value_or(default_state_dir());
    opts.max_sessions = f.max_sessions;
    if (f.session_disk_mib) opts.session_disk_bytes = *f.session_disk_mib << 20;
    opts.max_session_sandboxes = f.session_sandboxes;
    opts.allow_unisolated = f.allow_unisolated;
    RTFS_TRY(opts.session_idle_timeout, seconds_flag("--sandbox-idle-timeout", f.session_idle));
    RTFS_TRY(opts.session_max_lifetime, seconds_flag("--sandbox-max-lifetime", f.session_max));
    // No request's fs_policy may reach these (the audit log's rotated PATH.N with it), nor any
    // sandbox write them (Service::create; the settings file is added there).
    for (const auto* path : {&f.audit_log, &f.token_file, &f.tls_cert, &f.tls_key}) {
        if (*path) opts.private_paths.push_back(**path);
    }
    return opts;
}

Expected<FrontendOptions> frontend_options(const DaemonFlags& f) {
    FrontendOptions fopts;
    fopts.max_connections = f.max_connections;
    fopts.max_connections_per_peer = f.connections_per_peer.value_or(default_connections_per_peer(f.max_connections));
    RTFS_TRY(fopts.request_timeout, duration_flag("--request-timeout", f.request_timeout));
    return fopts;
}

Expected<std::chrono::milliseconds> grace_period(const DaemonFlags& f) { return duration_flag("--grace", f.grace); }

}  // namespace microvm::service
