// microvmd: the execution service (docs/service.md). Serves the HTTP API on Unix sockets and
// TCP listeners until SIGTERM/SIGINT, then stops accepting, lets running requests finish within
// the grace period and cancels the rest.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <utility>

#include "rtfs/host/openssl_config.hpp"
#include "host/trusted_state.hpp"
#include "microvm/policy.hpp"
#include "microvm/settings.hpp"
#include "service/http_frontend.hpp"
#include "service/sandbox_pools.hpp"

using namespace microvm;
using namespace microvm::service;

namespace {

int die(const std::string& message) {
    std::fprintf(stderr, "microvmd: %s\n", message.c_str());
    return 1;
}

Expected<std::chrono::milliseconds> duration_flag(const std::string& flag, const std::string& text) {
    auto d = parse_duration(text);
    if (!d) return fail(Failure::Kind::InvalidConfig, flag + ": " + d.error().message);
    return *d;
}

}  // namespace

int main(int argc, char** argv) {
    // Before its TLS (cpp-httplib's OpenSSL) or anything else initialises OpenSSL.
    if (std::string why = rtfs::host::suppress_openssl_config(); !why.empty()) {
        std::fprintf(stderr, "microvmd: %s\n", why.c_str());
        return 1;
    }
    CLI::App app{"microvmd: the microvm execution service (HTTP/1.1 + JSON)"};
    std::vector<std::string> listens;
    std::optional<std::string> token_file, tls_cert, tls_key, config_file, profile, audit_log, state_dir;
    std::string audit_fsync = "never";
    size_t concurrency = 4, queue = 16, max_connections = 256, max_sessions = 64;
    size_t session_sandboxes = microvm::service::SandboxPools::kDefaultSessionSandboxes;
    size_t max_request_kib = 1024, max_file_mib = 64, max_body_mib = 256, max_output_mib = 16;
    std::optional<size_t> client_executions, client_running, client_sandboxes, client_body_mib, connections_per_peer;
    std::optional<uint64_t> session_disk_mib;
    std::string request_timeout = "10s", session_idle = "10m", session_max = "1h", grace = "10s";
    app.add_option("--listen", listens,
                   "unix:PATH or tcp:HOST:PORT (repeatable; default unix:" + default_unix_socket_path() + ")")
        ->allow_extra_args(false);
    app.add_option("--token-file", token_file, "Bearer tokens for TCP listeners (ID:SECRET per line, mode 0600)");
    app.add_option("--tls-cert", tls_cert, "PEM certificate chain: TCP listeners serve TLS");
    app.add_option("--tls-key", tls_key, "PEM private key for --tls-cert");
    app.add_option("--config", config_file, "Settings file (TOML), as for microvm");
    app.add_option("--profile", profile, "Settings profile");
    app.add_option("--audit-log", audit_log, "Append-only JSON Lines audit log");
    app.add_option("--audit-fsync", audit_fsync, "never | always (fdatasync after each record)");
    app.add_option("--state-dir", state_dir, "Directory for sessions' work directories (default " + default_state_dir() + ")");
    app.add_option("--max-concurrency", concurrency, "Executions running at once per provider");
    app.add_option("--max-queue", queue, "Executions waiting per provider before 429");
    app.add_option("--max-connections", max_connections, "Open connections before 503");
    app.add_option("--max-request-kib", max_request_kib, "Largest JSON body (KiB)");
    app.add_option("--max-file-mib", max_file_mib, "Largest file upload/download (MiB)");
    app.add_option("--max-output-mib", max_output_mib,
                   "Most output a request may ask kept per stream (max_output_bytes, MiB)");
    app.add_option("--max-body-mib", max_body_mib,
                   "Request bodies held in memory at once, all connections together (MiB); over it: 503 + Retry-After");
    app.add_option("--max-per-client-executions", client_executions,
                   "Executions one client (token id; uid on the Unix socket) may have running or queued per provider "
                   "(default: half of --max-concurrency + --max-queue, rounded up); over it: 429");
    app.add_option("--max-per-client-running", client_running,
                   "Executions one client may have running at once per provider; more wait in the queue while "
                   "other clients' start (default: --max-concurrency - 1, at least 1; --max-concurrency: no limit)");
    app.add_option("--max-per-client-sandboxes", client_sandboxes,
                   "Sessions one client may hold (default: half of --max-sandboxes, rounded up); over it: 429");
    app.add_option("--max-per-client-body-mib", client_body_mib,
                   "Request bodies one client may have in memory at once (MiB; default: half of --max-body-mib, "
                   "rounded up, at least one request at its limit); over it: 429");
    app.add_option("--max-connections-per-peer", connections_per_peer,
                   "Open connections from one address (uid on the Unix socket) (default: 32, or half of "
                   "--max-connections if smaller); over it, the address's oldest connection with no authenticated request "
                   "in progress is closed, or when all serve one: 429 and close");
    app.add_option("--request-timeout", request_timeout, "A whole request (headers and body) must arrive within it");
    app.add_option("--max-sandboxes", max_sessions, "Sessions alive at once");
    app.add_option("--session-sandboxes-ahead", session_sandboxes,
                   "Sessions whose next exec has a sandbox built ahead (the most recently used; 0: none; default 16)");
    app.add_option("--session-disk-mib", session_disk_mib,
                   "Each session's work directory is a tmpfs of this size, its files' quota (default 256 where the "
                   "daemon can mount one, else none; 0: none)");
    app.add_option("--sandbox-idle-timeout", session_idle, "A session unused this long ends");
    app.add_option("--sandbox-max-lifetime", session_max, "A session ends at this age");
    app.add_option("--grace", grace, "On SIGTERM: how long running requests may take before they are cancelled");
    bool allow_unisolated = false;
    app.add_flag("--allow-unisolated", allow_unisolated,
                 "Also serve providers with no isolation (mock): they run programs inside the daemon "
                 "itself, as its user; for trusted clients only");
    CLI11_PARSE(app, argc, argv);

    // Signals are taken by sigwait below; block them before any thread starts.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    ::signal(SIGPIPE, SIG_IGN);

    if (tls_cert.has_value() != tls_key.has_value()) return die("--tls-cert and --tls-key go together");
    if (audit_fsync != "never" && audit_fsync != "always") return die("--audit-fsync: expected never or always");
    auto settings = load_settings(config_file);
    if (!settings) return die(settings.error().message);
    if (profile) {
        settings = apply_profile(*settings, *profile);
        if (!settings) return die(settings.error().message);
    }
    // Sizes are shifted into bytes below: bounded first (1 TiB), so no shift can wrap.
    if (max_request_kib > (size_t{1} << 30) || max_file_mib > (size_t{1} << 20) || max_body_mib > (size_t{1} << 20))
        return die("--max-request-kib, --max-file-mib and --max-body-mib are limited to 1 TiB");
    if (max_output_mib < 1 || max_output_mib > 1024)
        return die("--max-output-mib: between 1 and 1024 (a run keeps at most 1 GiB per stream)");
    if ((max_body_mib << 20) < std::max(max_file_mib << 20, max_request_kib << 10))
        return die("--max-body-mib must hold at least one request at its limit (--max-file-mib, --max-request-kib)");
    // The per-client quotas (docs/service.md): at least 1, at most the capacity they share.
    if (client_executions && (*client_executions < 1 || *client_executions > concurrency + queue))
        return die("--max-per-client-executions: between 1 and --max-concurrency + --max-queue (" +
                   std::to_string(concurrency + queue) + ")");
    if (client_running && (*client_running < 1 || *client_running > concurrency))
        return die("--max-per-client-running: between 1 and --max-concurrency (" + std::to_string(concurrency) +
                   ": no limit)");
    if (client_sandboxes && (*client_sandboxes < 1 || *client_sandboxes > max_sessions))
        return die("--max-per-client-sandboxes: between 1 and --max-sandboxes (" + std::to_string(max_sessions) + ")");
    if (client_body_mib && (*client_body_mib > max_body_mib ||
                            (*client_body_mib << 20) < std::max(max_file_mib << 20, max_request_kib << 10)))
        return die("--max-per-client-body-mib: between one request at its limit (--max-file-mib, --max-request-kib) "
                   "and --max-body-mib (" + std::to_string(max_body_mib) + ")");
    if (connections_per_peer && (*connections_per_peer < 1 || *connections_per_peer > max_connections))
        return die("--max-connections-per-peer: between 1 and --max-connections (" + std::to_string(max_connections) + ")");
    ServiceOptions opts;
    opts.settings = *settings;
    opts.max_client_executions = client_executions.value_or(0);
    opts.max_client_running = client_running.value_or(0);
    opts.max_client_sessions = client_sandboxes.value_or(0);
    opts.max_client_body_bytes = client_body_mib.value_or(0) << 20;
    opts.admission = {concurrency, queue};
    opts.max_request_bytes = max_request_kib << 10;
    opts.max_file_bytes = max_file_mib << 20;
    opts.max_body_bytes_held = max_body_mib << 20;
    opts.max_output_bytes = uint64_t{max_output_mib} << 20;
    opts.state_dir = state_dir.value_or(default_state_dir());
    // Root's default lies in /run/microvmd, which the listener would make only later.
    if (!state_dir && ::geteuid() == 0) {
        if (auto made = make_root_runtime_dir(); !made) return die(made.error().message);
    }
    opts.max_sessions = max_sessions;
    if (session_disk_mib) {
        if (*session_disk_mib > (uint64_t{1} << 30)) return die("--session-disk-mib: at most 1073741824");
        opts.session_disk_bytes = *session_disk_mib << 20;
    }
    opts.max_session_sandboxes = session_sandboxes;
    opts.allow_unisolated = allow_unisolated;
    FrontendOptions fopts;
    fopts.max_connections = max_connections;
    fopts.max_connections_per_peer = connections_per_peer.value_or(default_connections_per_peer(max_connections));
    auto seconds = [](const std::string& flag, const std::string& text) -> Expected<std::chrono::seconds> {
        RTFS_TRY(auto d, duration_flag(flag, text));
        return std::max(std::chrono::seconds(1), std::chrono::duration_cast<std::chrono::seconds>(d));
    };
    auto idle = seconds("--sandbox-idle-timeout", session_idle);
    if (!idle) return die(idle.error().message);
    opts.session_idle_timeout = *idle;
    auto life = seconds("--sandbox-max-lifetime", session_max);
    if (!life) return die(life.error().message);
    opts.session_max_lifetime = *life;
    auto rt = duration_flag("--request-timeout", request_timeout);
    if (!rt) return die(rt.error().message);
    fopts.request_timeout = *rt;
    auto grace_d = duration_flag("--grace", grace);
    if (!grace_d) return die(grace_d.error().message);

    auto rotation = read_audit_rotation(*settings);
    if (!rotation) return die(rotation.error().message);
    std::unique_ptr<AuditLog> audit;
    if (audit_log) {
        auto a = AuditLog::open(*audit_log, audit_fsync == "always" ? AuditSync::EveryRecord : AuditSync::Never,
                                *rotation);
        if (!a) return die(a.error().message);
        audit = std::move(*a);
    }
    // No request's fs_policy may reach these (the audit log's rotated PATH.N with it), nor any
    // sandbox write them (Service::create; the settings file is added there).
    for (const auto* path : {&audit_log, &token_file, &tls_cert, &tls_key}) {
        if (*path) opts.private_paths.push_back(**path);
    }
    // A file elsewhere is protected from this daemon's sandboxes only: a `microvm` run with
    // other settings knows nothing of it and may grant a sandbox rw= over it.
    for (const auto& [flag, path] : {std::pair{"--config", config_file}, std::pair{"--token-file", token_file},
                                     std::pair{"--tls-cert", tls_cert}, std::pair{"--tls-key", tls_key},
                                     std::pair{"--audit-log", audit_log}, std::pair{"--state-dir", state_dir}}) {
        if (path && !microvm::host::protected_by_name(*path)) {
            std::fprintf(stderr,
                         "microvmd: warning: %s %s lies outside the places every process protects by name (a "
                         "microvm* entry of /etc, /var/lib, /var/log or /run): a sandbox of a microvm run with "
                         "other settings could be granted it (docs/service.md, \"The daemon's own files\")\n",
                         flag, path->c_str());
        }
    }
    auto service = Service::create(std::move(opts), std::move(audit));
    if (!service) return die(service.error().message);
    if ((*service)->session_disk_bytes() == 0 && session_disk_mib != uint64_t{0})
        std::fprintf(stderr, "microvmd: sessions have no disk quota: this daemon cannot mount a tmpfs for each "
                             "(--session-disk-mib needs CAP_SYS_ADMIN); their files share the state directory's file system\n");

    std::optional<TokenSet> tokens;
    if (token_file) {
        auto t = TokenSet::load(*token_file);
        if (!t) return die(t.error().message);
        tokens = std::move(*t);
    }
    std::optional<TlsFiles> tls;
    if (tls_cert) tls = TlsFiles{*tls_cert, *tls_key};

    HttpFrontend frontend(**service, fopts);
    if (listens.empty()) listens.push_back("unix:" + default_unix_socket_path());
    for (size_t i = 0; i < listens.size(); ++i) {
        auto spec = parse_listen(listens[i]);
        if (!spec) return die(spec.error().message);
        const bool tcp = spec->kind == ListenSpec::Kind::Tcp;
        if (auto added = frontend.add_listener(*spec, tcp ? tokens : std::nullopt, tcp ? tls : std::nullopt); !added)
            return die(added.error().message);
        ListenSpec shown = *spec;
        if (tcp) shown.port = frontend.port(i);
        std::printf("microvmd: listening on %s%s\n", shown.text().c_str(), tcp && tls ? " (TLS)" : "");
    }
    std::fflush(stdout);
    frontend.start();

    int sig = 0;
    sigwait(&signals, &sig);
    std::printf("microvmd: %s, stopping\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    std::fflush(stdout);
    frontend.stop(*grace_d);
    return 0;
}
