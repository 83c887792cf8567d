// microvmd: the execution service (docs/service.md). Serves the HTTP API on Unix sockets and
// TCP listeners until SIGTERM/SIGINT, then stops accepting, lets running requests finish within
// the grace period and cancels the rest.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <utility>

#include "daemon_flags.hpp"
#include "host/trusted_state.hpp"
#include "host/unique_fd.hpp"
#include "rtfs/host/openssl_config.hpp"
#include "microvm/settings.hpp"
#include "service/http_frontend.hpp"

using namespace microvm;
using namespace microvm::service;

namespace {

int die(const std::string& message) {
    std::fprintf(stderr, "microvmd: %s\n", message.c_str());
    return 1;
}

// A file elsewhere is protected from this daemon's sandboxes only: a `microvm` run with other
// settings knows nothing of it and may grant a sandbox rw= over it.
void warn_of_unprotected_files(const DaemonFlags& f) {
    for (const auto& [flag, path] : {std::pair{"--config", f.config_file}, std::pair{"--token-file", f.token_file},
                                     std::pair{"--tls-cert", f.tls_cert}, std::pair{"--tls-key", f.tls_key},
                                     std::pair{"--audit-log", f.audit_log}, std::pair{"--state-dir", f.state_dir}}) {
        if (path && !microvm::host::protected_by_name(*path)) {
            std::fprintf(stderr,
                         "microvmd: warning: %s %s lies outside the places every process protects by name (a "
                         "microvm* entry of /etc, /var/lib, /var/log or /run): a sandbox of a microvm run with "
                         "other settings could be granted it (docs/service.md, \"The daemon's own files\")\n",
                         flag, path->c_str());
        }
    }
}

Expected<Settings> settings_of(const DaemonFlags& f) {
    RTFS_TRY(Settings settings, load_settings(f.config_file));
    if (f.profile) return apply_profile(settings, *f.profile);
    return settings;
}

Expected<std::unique_ptr<AuditLog>> audit_log_of(const DaemonFlags& f, const Settings& settings) {
    RTFS_TRY(AuditRotation rotation, read_audit_rotation(settings));
    if (!f.audit_log) return std::unique_ptr<AuditLog>{};
    return AuditLog::open(*f.audit_log, f.audit_fsync == "always" ? AuditSync::EveryRecord : AuditSync::Never, rotation);
}

// Adds every --listen (default: the Unix socket) and says where it listens.
Expected<void> add_listeners(HttpFrontend& frontend, const DaemonFlags& f) {
    std::optional<TokenSet> tokens;
    if (f.token_file) {
        RTFS_TRY(tokens, TokenSet::load(*f.token_file));
    }
    std::optional<TlsFiles> tls;
    if (f.tls_cert) tls = TlsFiles{*f.tls_cert, *f.tls_key};
    std::vector<std::string> listens = f.listens;
    if (listens.empty()) listens.push_back("unix:" + default_unix_socket_path());
    for (size_t i = 0; i < listens.size(); ++i) {
        RTFS_TRY(ListenSpec spec, parse_listen(listens[i]));
        const bool tcp = spec.kind == ListenSpec::Kind::Tcp;
        RTFS_CHECK(frontend.add_listener(spec, tcp ? tokens : std::nullopt, tcp ? tls : std::nullopt));
        if (tcp) spec.port = frontend.port(i);
        std::printf("microvmd: listening on %s%s\n", spec.text().c_str(), tcp && tls ? " (TLS)" : "");
    }
    std::fflush(stdout);
    return Ok{};
}

}  // namespace

int main(int argc, char** argv) {
    // With 2 closed, its warnings went into the audit log that took its place (a review,
    // 2026-12-05).
    microvm::host::open_closed_standard_descriptors();
    // Before its TLS (cpp-httplib's OpenSSL) or anything else initialises OpenSSL.
    if (std::string why = rtfs::host::suppress_openssl_config(); !why.empty()) return die(why);
    CLI::App app{"microvmd: the microvm execution service (HTTP/1.1 + JSON)"};
    DaemonFlags flags;
    add_daemon_flags(app, flags);
    CLI11_PARSE(app, argc, argv);

    // Signals are taken by sigwait below; block them before any thread starts.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    ::signal(SIGPIPE, SIG_IGN);

    if (auto checked = check_daemon_flags(flags); !checked) return die(checked.error().message);
    auto settings = settings_of(flags);
    if (!settings) return die(settings.error().message);
    auto opts = service_options(flags, *settings);
    if (!opts) return die(opts.error().message);
    auto fopts = frontend_options(flags);
    if (!fopts) return die(fopts.error().message);
    auto grace = grace_period(flags);
    if (!grace) return die(grace.error().message);
    // Root's default lies in /run/microvmd, which the listener would make only later.
    if (!flags.state_dir && ::geteuid() == 0) {
        if (auto made = make_root_runtime_dir(); !made) return die(made.error().message);
    }
    auto audit = audit_log_of(flags, *settings);
    if (!audit) return die(audit.error().message);
    warn_of_unprotected_files(flags);
    auto service = Service::create(std::move(*opts), std::move(*audit));
    if (!service) return die(service.error().message);
    if ((*service)->session_disk_bytes() == 0 && flags.session_disk_mib != uint64_t{0})
        std::fprintf(stderr, "microvmd: sessions have no disk quota: this daemon cannot mount a tmpfs for each "
                             "(--session-disk-mib needs CAP_SYS_ADMIN); their files share the state directory's file system\n");

    HttpFrontend frontend(**service, *fopts);
    if (auto listening = add_listeners(frontend, flags); !listening) return die(listening.error().message);
    frontend.start();

    int sig = 0;
    sigwait(&signals, &sig);
    std::printf("microvmd: %s, stopping\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    std::fflush(stdout);
    frontend.stop(*grace);
    return 0;
}
