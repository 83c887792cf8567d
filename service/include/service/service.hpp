// The service core, independent of HTTP: runs executions (one-shot and in sessions) under
// admission control, records metrics and audit records, and answers the informational
// endpoints. The HTTP front end (http_frontend.hpp) only maps routes to these calls, so the core
// is tested without sockets.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "host/unique_fd.hpp"
#include "microvm/cancel.hpp"
#include "microvm/context.hpp"
#include "microvm/factory.hpp"
#include "microvm/settings.hpp"
#include "service/admission.hpp"
#include "service/api_error.hpp"
#include "service/audit_log.hpp"
#include "service/body_budget.hpp"
#include "service/client_quotas.hpp"
#include "service/identity.hpp"
#include "service/metrics.hpp"
#include "service/request_body.hpp"

namespace microvm::service {

class SessionStore;
class WarmPools;
class SandboxPools;

struct ServiceOptions {
    Settings settings;
    AdmissionLimits admission;                               // every provider
    std::map<std::string, AdmissionLimits> provider_admission;  // overrides by provider
    size_t max_request_bytes = 1 << 20;    // JSON bodies
    size_t max_file_bytes = 64 << 20;      // PUT /v1/sandboxes/{id}/files/...
    // All request bodies held at once, daemon-wide (never below one request at its limit).
    size_t max_body_bytes_held = 256 << 20;
    // The most output a request may ask kept per stream (max_output_bytes). What a run writes is
    // held in the daemon's memory several times over while its reply is made (escaped as JSON,
    // then sent), so the 1 GiB a local run may keep is too much for a shared daemon.
    uint64_t max_output_bytes = 16 << 20;
    std::string state_dir;                 // sessions' work directories live below it
    // Each session's work directory is a tmpfs of this size (session_disk.hpp), its files' and
    // uploads' quota. nullopt: kDefaultSessionDiskBytes where the daemon can mount one, else
    // none (session_disk_bytes() says which); 0: none; else required (Service::create fails where
    // it cannot mount).
    std::optional<uint64_t> session_disk_bytes;
    // The daemon's own files beside the state directory (audit log, token file): no request's
    // fs_policy may reach them (nor the state directory, added by Service::create).
    std::vector<std::string> private_paths;
    std::chrono::seconds session_idle_timeout{600};
    std::chrono::seconds session_max_lifetime{3600};
    size_t max_sessions = 64;
    // Sessions whose next exec has a sandbox built ahead (SandboxPools::keep_for_session; the
    // default is SandboxPools::kDefaultSessionSandboxes, checked there).
    size_t max_session_sandboxes = 16;
    // Providers with no isolation (mock) run a request's program inside the daemon's own
    // process, as the daemon's user: served only when the operator says so (--allow-unisolated).
    bool allow_unisolated = false;
    // Per-client quotas (client_quotas.hpp); 0: the default, half the capacity rounded up.
    size_t max_client_executions = 0;  // running + queued per provider (of concurrency + queue)
    // Executions one client runs at once per provider (the others wait in the queue while another
    // client's may start); 0: the default, all but one of the provider's concurrency (at least 1).
    // At the concurrency or above: no limit (a single-user daemon's setting).
    size_t max_client_running = 0;
    size_t max_client_sessions = 0;    // of max_sessions
    size_t max_client_body_bytes = 0;  // of the body budget, never below one request at its limit
};

struct ReadableFile;

// A reply of the informational endpoints and of errors.
struct Reply {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::map<std::string, std::string> headers;
    // Set for a download: the body is streamed from this file (its size at opening) instead.
    std::shared_ptr<ReadableFile> file;
};
Reply json_reply(int status, const nlohmann::json& body);
// 200 with an execution's result document, its keys in to_json's order (as `microvm --json`).
Reply result_reply(const nlohmann::ordered_json& doc);
Reply error_reply(const ApiError& e);

class Service {
  public:
    // Creates the state directory (0700), sweeping what a previous daemon left in it.
    static Expected<std::unique_ptr<Service>> create(ServiceOptions options,
                                                     std::unique_ptr<AuditLog> audit);
    ~Service();

    Reply providers();
    Reply health();
    Reply metrics();

    // An execution admitted and ready to run: its slot is held until it is destroyed.
    struct Prepared;
    // Parses the body (POST /v1/executions), resolves the provider and policy and waits for a
    // slot; client_gone ends a wait in the queue (and later the execution).
    ApiExpected<std::shared_ptr<Prepared>> prepare_execution(const std::string& body,
                                                             const ClientIdentity& who,
                                                             const CancelToken& client_gone);
    bool wants_stream(const Prepared& p) const;
    // The execution's timeout (its policy's).
    std::chrono::milliseconds timeout_of(const Prepared& p) const;
    // Runs it (output to sink as it comes when set) and returns the --json result document. Its
    // session is given back before it returns; its slot when p goes.
    nlohmann::ordered_json run(Prepared& p, OutputSink sink);

    // Sessions (see sessions.hpp for the rules).
    Reply create_session(const std::string& body, const ClientIdentity& who);
    Reply delete_session(const std::string& id, const ClientIdentity& who);
    ApiExpected<std::shared_ptr<Prepared>> prepare_session_exec(const std::string& id,
                                                                const std::string& body,
                                                                const ClientIdentity& who,
                                                                const CancelToken& client_gone);
    Reply put_file(const std::string& id, const std::string& path, const std::string& data,
                   const ClientIdentity& who);
    Reply get_file(const std::string& id, const std::string& path, const ClientIdentity& who);

    const ServiceOptions& options() const { return options_; }
    // Cancels every running execution (shutdown).
    void cancel_all();
    AuditLog& audit() { return *audit_; }
    void http_response(int status) { metrics_.http_response(status); }
    WarmPools* pools() { return pools_.get(); }
    SandboxPools* sandbox_pools() { return sandbox_pools_.get(); }
    // Request bodies being received (the HTTP front end reserves each before reading it).
    BodyBudget& body_budget() { return body_budget_; }
    // A request body's share of who's body quota, held while it is received; a 429 refusal when
    // who already holds its quota.
    ApiExpected<ClientQuotas::Hold> reserve_client_body(const ClientIdentity& who, size_t bytes);
    // The quotas as configured or defaulted (for a provider's executions: of its own limits).
    size_t client_execution_quota(const std::string& provider) const;
    // The running limit admission applies (no limit when it is the provider's concurrency).
    size_t client_running_limit(const std::string& provider) const;
    size_t client_session_quota() const;
    size_t client_body_quota() const;
    // Each session's disk (ServiceOptions::session_disk_bytes as decided at start; 0: none).
    uint64_t session_disk_bytes() const { return options_.session_disk_bytes.value_or(0); }
    // A connection refused over its per-peer cap (counted with the other quota refusals).
    void connection_refused_per_peer() { metrics_.quota_refused("connections_per_peer"); }

  private:
    Service(ServiceOptions options, std::unique_ptr<AuditLog> audit);
    ApiExpected<Provider*> provider(const std::string& name);
    ApiExpected<std::shared_ptr<Prepared>> admit(std::shared_ptr<Prepared> p,
                                                 const CancelToken& client_gone);
    void audit_session(const std::string& op, const std::string& id, const ClientIdentity& who,
                       const std::string& outcome, const nlohmann::json& extra = nullptr);

    // Held for the daemon's life, given up last (after the sessions' directories are gone):
    // another daemon on the same state directory refuses to start instead of sweeping them.
    host::UniqueFd state_lock_;
    ServiceOptions options_;
    std::unique_ptr<AuditLog> audit_;
    Metrics metrics_;
    Admission admission_;
    BodyBudget body_budget_;
    ClientQuotas client_quotas_;  // executions (per provider) and request bodies, by principal
    ProviderFactory factory_;
    std::mutex init_mu_;
    std::map<std::string, std::string> init_errors_;  // provider -> why it could not start
    CancelSource all_;                                // parent of every execution's cancel
    std::unique_ptr<SessionStore> sessions_;
    std::unique_ptr<WarmPools> pools_;  // null without [service.pools]
    std::unique_ptr<SandboxPools> sandbox_pools_;  // configured pools and sessions' sandboxes
};

}  // namespace microvm::service
