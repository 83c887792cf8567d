// microvmd's command line: the flags as given, checked against each other, and turned into the
// service's and the HTTP front end's options. Every refusal names the flag and its bounds.
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "microvm/error.hpp"
#include "microvm/settings.hpp"
#include "service/http_frontend.hpp"
#include "service/sandbox_pools.hpp"
#include "service/service.hpp"

namespace microvm::service {

struct DaemonFlags {
    std::vector<std::string> listens;
    std::optional<std::string> token_file, tls_cert, tls_key, config_file, profile, audit_log, state_dir;
    std::string audit_fsync = "never";
    size_t concurrency = 4, queue = 16, max_connections = 256, max_sessions = 64;
    size_t session_sandboxes = SandboxPools::kDefaultSessionSandboxes;
    size_t max_request_kib = 1024, max_file_mib = 64, max_body_mib = 256, max_output_mib = 16;
    std::optional<size_t> client_executions, client_running, client_sandboxes, client_body_mib, connections_per_peer;
    std::optional<uint64_t> session_disk_mib;
    std::string request_timeout = "10s", session_idle = "10m", session_max = "1h", grace = "10s";
    bool allow_unisolated = false;
};

void add_daemon_flags(CLI::App& app, DaemonFlags& flags);

// The flags' own ranges and how they bound each other (--tls-cert with --tls-key, the per-client
// quotas within the capacity they share, sizes that cannot wrap when shifted into bytes).
Expected<void> check_daemon_flags(const DaemonFlags& flags);

// The service's options from checked flags and the settings file (with its profile applied).
Expected<ServiceOptions> service_options(const DaemonFlags& flags, const Settings& settings);
Expected<FrontendOptions> frontend_options(const DaemonFlags& flags);
Expected<std::chrono::milliseconds> grace_period(const DaemonFlags& flags);

}  // namespace microvm::service
