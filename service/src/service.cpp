#include "service/service.hpp"
#include "host/sys_error.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "host/file_identity.hpp"
#include "host/remove_tree.hpp"
#include "microvm/errors.hpp"
#include "microvm/execution_id.hpp"
#include "microvm/json_output.hpp"
#include "microvm/trusted_path.hpp"
#include "service/confined_files.hpp"
#include "service/digest.hpp"
#include "host/paths.hpp"
#include "host/private_files.hpp"
#include "host/policy_source.hpp"
#include "host/trusted_state.hpp"
#include "service/sandbox_pools.hpp"
#include "service/session_disk.hpp"
#include "service/sessions.hpp"
#include "service/warm_pools.hpp"

namespace microvm::service {

using nlohmann::json;
using nlohmann::ordered_json;

Reply json_reply(int status, const json& body) {
    Reply r;
    r.status = status;
    r.body = json_text(body);
    return r;
}

Reply result_reply(const ordered_json& doc) {
    Reply r;
    r.status = 200;
    r.body = json_text(doc);
    return r;
}

Reply error_reply(const ApiError& e) {
    Reply r = json_reply(e.http_status, e.to_json());
    if (e.http_status == 429) r.headers["Retry-After"] = "1";
    return r;
}

struct Service::Prepared {
    std::string execution_id;
    std::string provider_name;
    Provider* provider = nullptr;
    std::string init_error;  // the provider could not be initialized: the result says so
    ProgramRequest program;
    Policy policy;
    bool stream = false;
    ClientIdentity who;
    std::string session_id;
    std::shared_ptr<Session> session;  // keeps its directory while the exec runs
    CancelSource cancel;
    std::optional<ClientQuotas::Hold> quota;  // the client's share of the provider's slots
    std::optional<Admission::Ticket> ticket;
    std::optional<WarmPools::Lease> lease;  // an instance from the warm pool (used once, in run)
};

namespace {

// A directory for the daemon's own state: created 0700 if missing, else it must be a real
// directory owned by the daemon's user and closed to everyone else.
Expected<void> prepare_private_dir(const std::string& dir) {
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
        return host::sys_failure("cannot create " + dir, errno);
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return fail(Failure::Kind::SetupError, dir + " is not a directory");
    if (st.st_uid != ::geteuid() || (st.st_mode & 077))
        return fail(Failure::Kind::SetupError,
                    dir + " must be owned by this user and closed to group and others (0700)");
    return Ok{};
}

// The policy as the audit log keeps it: env_vars by name only, since their values are often
// secrets (API keys) the log must not spread to whoever reads it; each key's value bounded
// (audit_value).
json audited_policy(const json& as_given) {
    json out = as_given;
    if (auto it = out.find("env_vars"); it != out.end() && it->is_object()) {
        json names = json::array();
        for (const auto& [name, value] : it->items()) names.push_back(name);
        *it = std::move(names);
    }
    if (out.is_object())
        for (auto& [key, value] : out.items()) value = audit_value(value);
    return out;
}

// Whether a provider's program reaches files as the daemon's own user, whom the daemon's 0700
// directories do not keep out: wasm's file layer and a provider without isolation do; and on a
// daemon without root every provider does (the process provider maps the daemon's uid into its
// sandbox, QEMU runs as it; a review, 2026-12-06).
bool opens_files_as_daemon(Isolation isolation) {
    return isolation == Isolation::Wasm || isolation == Isolation::None || ::geteuid() != 0;
}

// The daemon's own files (state directory, audit log and its rotated PATH.N, token file) must
// not be in any sandbox's reach: a program could list or tamper with other clients' sessions,
// forge audit records or read the tokens. A policy path is refused (as the providers refuse the
// trusted state, host/trusted_state.hpp) when it is one of them, lies inside one, or holds one
// (read-write; read-only too for a provider that opens files as the daemon: a wasm program
// given ro=/run read every client's token, red team 2026-12-06), judged by real path. The
// sessions' own work directories are bound by the store, not through a request's policy, so
// they are unaffected.
// Judged by identity too: another mount of the same directory names it otherwise (an rbind of
// the state directory elsewhere let a client read and write another's session files; red team,
// 2026-12-07).
ApiExpected<void> refuse_daemon_files(const Policy& policy, const std::vector<std::string>& daemon_files,
                                      Isolation isolation) {
    const FileSystemPolicy& fs = policy.config.fs_policy;
    // "full" where the program reaches files as the daemon is the daemon's own authority: it
    // could write what the daemon runs (/etc/cron.d, its binaries) and read every client's files
    // that way (a review, 2026-12-06). Mock, without isolation, runs only under
    // --allow-unisolated, which says so.
    if (fs.kind == FileSystemPolicy::Kind::Full && isolation != Isolation::None && opens_files_as_daemon(isolation))
        return api_fail(400, "bad_request",
                        "fs_policy \"full\" would give this provider's program the daemon's own file access (its "
                        "files, every session's work directory, whatever it runs): name the paths it needs with "
                        "ro= and rw=");
    std::vector<std::pair<std::string, bool>> paths;  // path, writable
    const bool rw = fs.kind == FileSystemPolicy::Kind::ReadWrite;
    for (const auto& q : fs.paths) paths.emplace_back(q, rw);
    for (const auto& q : fs.read_only_paths) paths.emplace_back(q, false);
    for (const auto& [given, writable] : paths) {
        const std::string real = host::resolved_path(given);
        for (const std::string& own : daemon_files) {
            const bool inside = host::covered_by(real, own) || host::lies_within_by_identity(real, own);
            const bool holds = host::is_within(own, real) || host::lies_within_by_identity(own, real);
            if (inside || ((writable || opens_files_as_daemon(isolation)) && holds))
                return api_fail(400, "bad_request", "fs_policy path '" + given + "' would reach " + own +
                                                        ", the daemon's own files (sessions, audit log, tokens, settings, TLS)");
        }
    }
    return rtfs::Ok{};
}

// A request's max_output_bytes above the daemon's ceiling (ServiceOptions::max_output_bytes):
// 400 naming both. Only what the request asks for is held to it; the operator's settings are
// the operator's.
ApiExpected<void> refuse_output_over_ceiling(const json& body, const Policy& policy, uint64_t ceiling) {
    if (!body.contains("max_output_bytes") || policy.config.max_output_bytes <= ceiling) return rtfs::Ok{};
    return api_fail(400, "bad_request", "max_output_bytes: this daemon keeps at most " + std::to_string(ceiling) +
                                            " bytes per stream (--max-output-mib), asked " +
                                            std::to_string(policy.config.max_output_bytes));
}

// What a one-shot run and a session's exec read alike: stream, the program, and the policy
// (parsed by the caller's rule: the settings' or the session's) held to the daemon's output
// ceiling. Errors in that order.
ApiExpected<void> take_run_fields(const json& body, ApiExpected<Policy> policy, uint64_t output_ceiling,
                                  Service::Prepared& p) {
    auto stream = optional_bool(body, "stream");
    if (!stream) return rtfs::Unexpected<ApiError>(stream.error());
    p.stream = *stream;
    auto program = parse_program(body);
    if (!program) return rtfs::Unexpected<ApiError>(program.error());
    p.program = std::move(*program);
    if (!policy) return rtfs::Unexpected<ApiError>(policy.error());
    if (auto out = refuse_output_over_ceiling(body, *policy, output_ceiling); !out)
        return rtfs::Unexpected<ApiError>(out.error());
    p.policy = std::move(*policy);
    return rtfs::Ok{};
}


}  // namespace

namespace {

std::string unisolated_refusal(const std::string& provider) {
    return "provider '" + provider + "' has no isolation: it would run the request's program "
           "inside the daemon's own process, with the daemon's user and files; the daemon "
           "serves it only when started with --allow-unisolated";
}

// Whether the program of r started (whatever its end), as opposed to a refusal or a failure to
// build its sandbox.
bool ran(const ExecutionResult& r) {
    if (!r.error) return true;
    switch (r.error->reason) {
        case Reason::PolicyRefused:
        case Reason::CapabilityDenied:
        case Reason::InvalidConfig:
        case Reason::InvalidProgram:
        case Reason::SetupError:
        case Reason::Unavailable:
        case Reason::ProgramNotFound:
        case Reason::NotExecutable:
        case Reason::ExecFailed:
            return false;
        default:
            return true;
    }
}

}  // namespace

namespace {

// The pools' names and providers, checked against the providers registered: before anything
// is made, so a daemon refused leaves nothing behind.
Expected<void> check_pools(const std::map<std::string, PoolConfig>& pools,
                           const std::vector<std::pair<std::string, SandboxPoolConfig>>& sandbox_pools,
                           ProviderFactory& factory, bool allow_unisolated) {
    const auto providers = factory.provider_names();
    for (const auto& [name, config] : sandbox_pools) {
        const std::string key = "service.sandbox_pools." + name;
        if (pools.count(name))
            return fail(Failure::Kind::InvalidConfig, key + ": the name is taken by service.pools." + name +
                                                          " (pools share the metrics' pool label)");
        if (name == "sessions" || name.starts_with("provider:"))
            return fail(Failure::Kind::InvalidConfig, key + ": the name is reserved (the metrics' pool label of "
                                                            "the sessions' sandboxes and of providers' own pools)");
        if (std::find(providers.begin(), providers.end(), config.provider) == providers.end())
            return fail(Failure::Kind::InvalidConfig, key + ".provider: unknown provider '" + config.provider + "'");
    }
    for (const auto& [name, config] : pools)
        if (name == "sessions" || name.starts_with("provider:"))
            return fail(Failure::Kind::InvalidConfig, "service.pools." + name + ": the name is reserved (the metrics' pool label "
                                                      "of the sessions' sandboxes and of providers' own pools)");
    // A pool of a provider with no isolation would run its warmup_eval and build its sandboxes
    // inside the daemon, and no request could use it (provider() refuses such a provider): a
    // configuration that cannot work is refused at start, naming the pool and the flag.
    if (!allow_unisolated && (!pools.empty() || !sandbox_pools.empty())) {
        std::set<std::string> unisolated;
        for (const auto& i : factory.list_providers())
            if (i.isolation == Isolation::None) unisolated.insert(i.name);
        auto refuse = [&](const std::string& key, const std::string& provider) {
            return fail(Failure::Kind::InvalidConfig, key + ": " + unisolated_refusal(provider));
        };
        for (const auto& [name, config] : pools)
            if (unisolated.count(name)) return refuse("service.pools." + name, name);
        for (const auto& [name, config] : sandbox_pools)
            if (unisolated.count(config.provider))
                return refuse("service.sandbox_pools." + name + ".provider", config.provider);
    }
    return Ok{};
}

// The state directory's lock, taken for this daemon's life: the sweep below is of a dead
// daemon's sessions, and a second daemon started on the same directory (a mistake, a
// supervisor's overlapping restart, root's default directory shared) unmounted and removed
// every live session of the first before its listener found the socket taken (red team,
// 2026-12-06). An flock: the kernel gives it up when its holder dies, however.
Expected<host::UniqueFd> lock_state_dir(const std::string& state_dir) {
    const std::string path = state_dir + "/.lock";
    host::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd.valid()) return host::sys_failure("cannot open the state directory's lock " + path, errno);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            return fail(Failure::Kind::SetupError, "state directory " + state_dir +
                                                       " is in use by another microvmd (it holds " + path +
                                                       "); give each daemon a --state-dir of its own");
        return host::sys_failure("cannot lock " + path, errno);
    }
    return fd;
}

// The state directory made private and named by its real path (options.state_dir), locked for
// this daemon (lock), and its sessions' directory emptied of what a daemon that died left; the
// session disk size settled. Returns the sessions' directory.
Expected<std::string> prepare_state_dirs(ServiceOptions& options, host::UniqueFd& lock) {
    // Every later step goes by this path (the sweep, the sessions' directories and disks): no
    // directory on the way may be another user's, who could swap what was checked for a
    // directory of theirs or a symlink (red team, 2026-12-05: root's daemon under a user's
    // $XDG_RUNTIME_DIR), and no symlink but "/"'s own may lead there, whose owner would choose
    // which directory of root's is made and swept (a review). The real path from here on.
    RTFS_TRY(std::string given, host::normalize_absolute_path(options.state_dir));
    if (!host::real_path_without_planted_links(given))
        return fail(Failure::Kind::SetupError, "state directory " + given + " is reached through a symlink (" +
                                                   host::resolved_path(given) + "); name the real path");
    const bool existed = ::access(given.c_str(), F_OK) == 0;
    RTFS_CHECK(prepare_private_dir(given));
    auto owned = owned_real_path(given, "state directory");
    if (!owned) {
        if (!existed) ::rmdir(given.c_str());  // made here, in a place refused: not left there
        return rtfs::unexpected(std::move(owned).error());
    }
    options.state_dir = *owned;
    RTFS_TRY(lock, lock_state_dir(options.state_dir));
    const std::string sessions_dir = options.state_dir + "/sandboxes";
    // A previous daemon that died left its sessions' directories, and their disks mounted:
    // nothing can use them now.
    unmount_everything_below(sessions_dir);
    host::remove_tree(sessions_dir);
    RTFS_CHECK(prepare_private_dir(sessions_dir));
    // Each session's disk: the default where this daemon can mount one; a size asked for is
    // given or the daemon does not start.
    if (options.session_disk_bytes != uint64_t{0}) {
        const bool can_mount = can_mount_session_disks(sessions_dir);
        if (!options.session_disk_bytes) {
            options.session_disk_bytes = can_mount ? kDefaultSessionDiskBytes : 0;
        } else if (!can_mount) {
            return fail(Failure::Kind::InvalidConfig,
                        "--session-disk-mib: this daemon cannot mount a tmpfs (a session's disk) below " + sessions_dir +
                            " (it needs CAP_SYS_ADMIN); give --session-disk-mib 0 to run sessions without a disk quota");
        }
    }
    return sessions_dir;
}

// What no sandbox may write (the providers' state, the daemon's settings file, tokens, TLS key
// and audit log), protected; and options.private_paths made the real paths of the daemon's own
// files, for refuse_daemon_files.
void protect_daemon_files(ServiceOptions& options, const AuditLog* audit) {
    // Every provider's state directories are out of any sandbox's write reach, whichever
    // providers start.
    host::protect_configured_state(options.settings.provider_configs);
    // The daemon's files (its settings file, tokens, TLS key, audit log) out of every sandbox's
    // write reach too, not only out of requests' (refuse_daemon_files): a session granted rw=
    // over the directory of --config planted a runsc that the restarted daemon ran as root, and
    // read the TLS key through the idmapped bind (red team, 2026-12-04). Not the state
    // directory: the sessions' own work directories lie below it.
    if (!options.settings.source_file.empty()) {
        options.private_paths.push_back(options.settings.source_file);
    }
    for (const std::string& path : options.private_paths) host::protect_trusted_state(path);
    // The audit log's rotated files (PATH.1 ... PATH.keep) too: they are made later, so by name.
    if (audit && audit->enabled()) {
        const std::filesystem::path log = std::filesystem::absolute(audit->path());
        host::protect_trusted_entries(log.parent_path().string(), log.filename().string() + ".");
    }
    // The daemon's own files, as real paths, for refuse_daemon_files; and private to this
    // process, for the providers whose programs reach files as the daemon (wasm).
    options.private_paths.push_back(options.state_dir);
    for (auto& path : options.private_paths) {
        path = host::resolved_path(path);
        host::keep_private(path);
    }
}

}  // namespace

Service::Service(ServiceOptions options, std::unique_ptr<AuditLog> audit)
    : options_(std::move(options)),
      audit_(audit ? std::move(audit) : std::make_unique<AuditLog>()),
      admission_(options_.admission, options_.provider_admission),
      body_budget_(std::max({options_.max_body_bytes_held, options_.max_file_bytes,
                             options_.max_request_bytes})) {}

Expected<std::unique_ptr<Service>> Service::create(ServiceOptions options,
                                                   std::unique_ptr<AuditLog> audit) {
    if (options.state_dir.empty())
        return fail(Failure::Kind::InvalidConfig, "the service needs a state directory");
    RTFS_TRY(auto pools, read_pool_configs(options.settings));
    RTFS_TRY(auto sandbox_pools, read_sandbox_pool_configs(options.settings));
    // Made first (the constructor touches no file), so the pools are judged by the providers the
    // daemon keeps (a pool's check may probe them).
    std::unique_ptr<Service> s(new Service(std::move(options), std::move(audit)));
    ServiceOptions& o = s->options_;
    // Every provider's settings, not only those of the providers the first requests start (a
    // table that would fail then, or never apply, stops the daemon now), and the pools': before
    // the state directory is made.
    RTFS_CHECK(check_provider_configs(s->factory_, o.settings));
    RTFS_CHECK(check_pools(pools, sandbox_pools, s->factory_, o.allow_unisolated));
    RTFS_TRY(const std::string sessions_dir, prepare_state_dirs(o, s->state_lock_));
    protect_daemon_files(o, s->audit_.get());
    Service* self = s.get();
    if (!pools.empty()) s->pools_ = std::make_unique<WarmPools>(s->options_.settings, std::move(pools));
    // Always: besides the configured pools, it builds each session's next sandbox.
    s->sandbox_pools_ = std::make_unique<SandboxPools>(
        std::move(sandbox_pools), [self](const std::string& name) -> Expected<Provider*> {
            auto p = self->provider(name);
            if (!p) return fail(Failure::Kind::SetupError, p.error().message);
            return *p;
        },
        s->options_.max_session_sandboxes);
    s->sessions_ = std::make_unique<SessionStore>(
        sessions_dir, s->options_.session_idle_timeout, s->options_.session_max_lifetime,
        s->options_.max_sessions, s->client_session_quota(), [self](const Session& ended, SessionEnd why) {
            self->sandbox_pools_->forget_session(ended.id);  // its next exec's sandbox
            switch (why) {
                case SessionEnd::Deleted:  // audited by the request that deleted it
                    self->metrics_.session_event("deleted");
                    break;
                case SessionEnd::IdleTimeout:
                case SessionEnd::MaxLifetime:
                    self->metrics_.session_event("expired");
                    self->audit_session("expire", ended.id, ClientIdentity{"internal"}, to_string(why));
                    break;
                case SessionEnd::Shutdown:  // not an expiry: the daemon stopped
                    self->metrics_.session_event("shutdown");
                    self->audit_session("shutdown", ended.id, ClientIdentity{"internal"}, to_string(why));
                    break;
            }
        },
        s->session_disk_bytes());
    return s;
}

Service::~Service() {
    cancel_all();
    sessions_.reset();
    sandbox_pools_.reset();  // their sandboxes go before the providers are cleaned up
    pools_.reset();
    factory_.cleanup_all();
}

void Service::cancel_all() { all_.cancel(); }

Reply Service::providers() {
    json arr = json::array();
    for (const auto& i : factory_.list_providers()) {
        std::string runs;
        for (auto k : i.runs) runs += (runs.empty() ? "" : ",") + std::string(to_string(k));
        const bool refused = i.isolation == Isolation::None && !options_.allow_unisolated;
        arr.push_back({{"name", i.name},
                       {"available", i.availability.available && !refused},
                       {"isolation", to_string(i.isolation)},
                       {"runs", runs},
                       {"reason", refused ? unisolated_refusal(i.name) : i.availability.reason}});
    }
    return json_reply(200, {{"providers", arr}});
}

Reply Service::health() { return json_reply(200, {{"status", "ok"}}); }

Reply Service::metrics() {
    Metrics::Gauges g;
    for (const auto& [p, l] : admission_.load()) g.running_and_queued[p] = {l.running, l.waiting};
    g.active_sessions = sessions_->size();
    if (pools_) g.pools = pools_->figures();
    g.pools.merge(sandbox_pools_->figures());
    // Pools providers keep of their own (qemu's restored VMs), as pool "provider:NAME".
    for (const auto& name : factory_.provider_names()) {
        auto p = factory_.get_provider(name);
        if (!p || !(*p)->initialized()) continue;
        if (auto f = (*p)->pool_figures())
            g.pools["provider:" + name] = {f->ready, f->target, f->hits, f->misses, f->failures};
    }
    g.body_bytes_held = body_budget_.held();
    g.body_bytes_limit = body_budget_.limit();
    Reply r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = metrics_.render(g);
    return r;
}

size_t Service::client_execution_quota(const std::string& provider) const {
    if (options_.max_client_executions) return options_.max_client_executions;
    const AdmissionLimits l = admission_.limits_for(provider);
    return client_share(l.concurrency + l.queue);
}

size_t Service::client_running_limit(const std::string& provider) const {
    const size_t concurrency = admission_.limits_for(provider).concurrency;
    if (options_.max_client_running) return std::min(options_.max_client_running, concurrency);
    return std::max<size_t>(1, concurrency - 1);
}

size_t Service::client_session_quota() const {
    return options_.max_client_sessions ? options_.max_client_sessions : client_share(options_.max_sessions);
}

size_t Service::client_body_quota() const {
    // Never below one request at its limit: a client must be able to send its largest body.
    const size_t one = std::max(options_.max_file_bytes, options_.max_request_bytes);
    return std::max(one, options_.max_client_body_bytes ? options_.max_client_body_bytes
                                                        : client_share(body_budget_.limit()));
}

ApiExpected<ClientQuotas::Hold> Service::reserve_client_body(const ClientIdentity& who, size_t bytes) {
    const size_t quota = client_body_quota();
    auto hold = client_quotas_.take("body\n" + who.principal(), bytes, enforced_quota(quota, body_budget_.limit()));
    if (hold) return std::move(*hold);
    metrics_.quota_refused("body_bytes");
    return rtfs::Unexpected<ApiError>(
        client_quota_refusal(who.principal(), "bytes of request bodies being received", quota, "--max-per-client-body-mib"));
}

ApiExpected<Provider*> Service::provider(const std::string& name) {
    auto names = factory_.provider_names();
    if (std::find(names.begin(), names.end(), name) == names.end()) {
        std::string known;
        for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
        return api_fail(400, "unknown_provider", "unknown provider '" + name + "' (known: " + known + ")");
    }
    std::lock_guard lock(init_mu_);
    auto got = factory_.get_provider(name);  // an error until initialized
    if (!got) {
        auto init = initialize_provider_from_settings(factory_, options_.settings, name);
        if (!init) return api_fail(503, "unavailable", init.error().message);
        got = factory_.get_provider(name);
        if (!got) return api_fail(503, "unavailable", got.error().message);
    }
    if ((*got)->isolation() == Isolation::None && !options_.allow_unisolated) {
        return api_fail(403, "provider_refused", unisolated_refusal(name));
    }
    return *got;
}

ApiExpected<std::shared_ptr<Service::Prepared>> Service::prepare_execution(
    const std::string& body, const ClientIdentity& who, const CancelToken& client_gone) {
    auto j = parse_object(body);
    if (!j) return rtfs::Unexpected<ApiError>(j.error());
    std::set<std::string> allowed = policy_keys();
    allowed.insert({"provider", "eval", "run", "stream"});
    if (auto k = check_keys(*j, allowed); !k) return rtfs::Unexpected<ApiError>(k.error());
    auto p = std::make_shared<Prepared>();
    auto name = optional_string(*j, "provider");
    if (!name) return rtfs::Unexpected<ApiError>(name.error());
    p->provider_name = name->value_or(options_.settings.default_provider);
    if (auto run = take_run_fields(*j, parse_policy(*j, options_.settings), options_.max_output_bytes, *p); !run)
        return rtfs::Unexpected<ApiError>(run.error());
    p->who = who;
    return admit(std::move(p), client_gone);
}

ApiExpected<std::shared_ptr<Service::Prepared>> Service::admit(std::shared_ptr<Prepared> p,
                                                               const CancelToken& client_gone) {
    auto prov = provider(p->provider_name);
    if (!prov) {
        if (prov.error().code != "unavailable") return rtfs::Unexpected<ApiError>(prov.error());
        // Nothing will run, but a policy reaching the daemon's files is refused all the same,
        // judged as strictly as for any provider. (A session's was judged when it was made.)
        if (!p->session) {
            if (auto own = refuse_daemon_files(p->policy, options_.private_paths, Isolation::None); !own)
                return rtfs::Unexpected<ApiError>(own.error());
        }
        p->init_error = prov.error().message;  // reported as an `unavailable` result
    } else {
        p->provider = *prov;
        // A session's policy was judged when the session was made, with its provider.
        if (!p->session) {
            if (auto own = refuse_daemon_files(p->policy, options_.private_paths, (*prov)->isolation()); !own)
                return rtfs::Unexpected<ApiError>(own.error());
        }
    }
    p->execution_id = new_execution_id();
    p->cancel = CancelSource::child_of(all_.token());
    p->cancel.follow(client_gone);
    if (p->session) p->cancel.follow(p->session->cancel.token());
    // The client's quota first: a client over it never takes a queue place from the others.
    const size_t quota = client_execution_quota(p->provider_name);
    const AdmissionLimits capacity = admission_.limits_for(p->provider_name);
    p->quota = client_quotas_.take("executions\n" + p->provider_name + "\n" + p->who.principal(), 1,
                                   enforced_quota(quota, capacity.concurrency + capacity.queue));
    if (!p->quota) {
        metrics_.quota_refused("executions");
        return rtfs::Unexpected<ApiError>(client_quota_refusal(
            p->who.principal(), "running and queued executions of provider '" + p->provider_name + "'", quota,
            "--max-per-client-executions"));
    }
    auto entered = admission_.enter(p->provider_name, p->who.principal(),
                                    enforced_quota(client_running_limit(p->provider_name), capacity.concurrency),
                                    p->cancel.token());
    if (auto* refusal = std::get_if<Admission::Refusal>(&entered)) {
        if (*refusal == Admission::Refusal::Busy) {
            auto l = admission_.limits_for(p->provider_name);
            return api_fail(429, "busy",
                            "provider '" + p->provider_name + "' is at its limit of " +
                                std::to_string(l.concurrency) + " running and " +
                                std::to_string(l.queue) + " queued executions; retry later");
        }
        return api_fail(499, "cancelled", "the client went away while queued");
    }
    p->ticket.emplace(std::move(std::get<Admission::Ticket>(entered)));
    return p;
}

bool Service::wants_stream(const Prepared& p) const { return p.stream; }

ordered_json Service::run(Prepared& p, OutputSink sink) {
    SandboxPools::Activity activity = sandbox_pools_->activity();  // pools refill between executions
    bool pooled = false;
    ExecutionResult r;
    if (!p.provider) {
        r.execution_id = p.execution_id;
        r.metadata.provider = p.provider_name;
        set_error(r, Reason::Unavailable, p.init_error, to_string(Reason::Unavailable));
    } else {
        ExecutionContext ctx = execution_context(p.program.program, p.policy);
        ctx.execution_id = p.execution_id;
        ctx.cancel = p.cancel.token();
        ctx.on_output = std::move(sink);
        // A sandbox built ahead that ctx fits (a session's own for its exec), else a warm instance.
        std::optional<SandboxPools::Claim> built =
            p.session ? sandbox_pools_->claim_for_session(p.session_id, *p.provider, ctx)
                      : sandbox_pools_->claim(p.provider_name, *p.provider, ctx);
        if (!built && pools_) {
            if (auto lease = pools_->claim(p.provider_name)) {
                p.provider = lease->provider;
                p.lease = std::move(lease);
            }
        }
        pooled = built || p.lease;
        r = built ? p.provider->execute_program(ctx, std::move(built->sandbox)) : p.provider->execute_program(ctx);
        built.reset();
        // The session's next exec gets a sandbox shaped like this one, built meanwhile (not after
        // an exec refused before it ran: its shape says nothing about the next).
        if (p.session && ran(r))
            sandbox_pools_->keep_for_session(p.session_id, p.session->cancel.token(), p.provider_name,
                                             {p.provider_name, 1, p.program, p.policy});
        if (r.execution_id.empty()) r.execution_id = p.execution_id;
        if (p.lease) {
            pools_->retire(std::move(*p.lease));
            p.lease.reset();
            p.provider = nullptr;
        }
    }
    ordered_json doc = to_json(r);
    metrics_.execution_finished(p.provider_name, to_string(r.status), r.metadata.duration);
    uint64_t allowed = 0, denied = 0;
    for (const auto& q : r.metadata.network_requests)
        if (q.allowed) ++(*q.allowed ? allowed : denied);  // only the proxy's records decide
    metrics_.proxy_connections(p.provider_name, allowed, denied);

    if (audit_->enabled()) {  // the record (a digest, a copy of the policy) only for a log
        ordered_json record = {{"event", p.session ? "session_exec" : "execution"},
                               {"execution_id", p.execution_id},
                               {"client", p.who.to_json()}};
        if (p.session) record["sandbox_id"] = p.session_id;
        record["provider"] = p.provider_name;
        record["pooled"] = pooled;
        record["policy"] = audited_policy(p.policy.as_given);
        record["program"] = {{"kind", p.program.is_eval ? "eval" : "run"},
                             {"sha256", sha256_hex(p.program.digest_input)}};
        record["status"] = doc["status"];
        if (r.error) record["reason"] = to_string(r.error->reason);
        record["resources"] = {{"duration_ms", doc["metadata"]["duration_ms"]},
                               {"cpu_time_ms", doc["metadata"]["cpu_time_ms"]},
                               {"memory_peak_mb", doc["metadata"]["memory_peak_mb"]},
                               {"exit_code", doc["exit_code"]},
                               {"signal", doc["signal"]}};
        if (doc["metadata"].contains("cpu_throttled_ms"))
            record["resources"]["cpu_throttled_ms"] = doc["metadata"]["cpu_throttled_ms"];
        if (!doc["metadata"]["network_requests"].empty())
            record["network_requests"] = doc["metadata"]["network_requests"];
        audit_->write(record);
    }
    // The run is over: its session goes back now, not when the reply has reached the client (a
    // client that read a stream slowly held a deleted session's disk long after its program
    // ended; red team, 2026-12-04). The slot and the client's share stay with the reply, which
    // holds the result: with them given back, slow readers held replies past the concurrency;
    // a streamed reply's drain is bounded in time instead (http_frontend.cpp).
    p.session.reset();
    return doc;
}

std::chrono::milliseconds Service::timeout_of(const Prepared& p) const { return p.policy.config.timeout; }

void Service::audit_session(const std::string& op, const std::string& id, const ClientIdentity& who,
                            const std::string& outcome, const json& extra) {
    ordered_json record = {{"event", "session_" + op}, {"sandbox_id", audit_field(id)}, {"client", who.to_json()},
                           {"outcome", outcome}};
    if (!extra.is_null()) {
        record["detail"] = extra;
        if (auto path = extra.find("path"); path != extra.end() && path->is_string())
            record["detail"]["path"] = audit_field(path->get<std::string>());
    }
    audit_->write(record);
}

Reply Service::create_session(const std::string& body, const ClientIdentity& who) {
    auto j = parse_object(body);
    if (!j) return error_reply(j.error());
    std::set<std::string> allowed = policy_keys();
    allowed.insert("provider");
    if (auto k = check_keys(*j, allowed); !k) return error_reply(k.error());
    auto name = optional_string(*j, "provider");
    if (!name) return error_reply(name.error());
    const std::string provider_name = name->value_or(options_.settings.default_provider);
    auto prov = provider(provider_name);
    if (!prov) return error_reply(prov.error());
    auto policy = parse_policy(*j, options_.settings);
    if (!policy) return error_reply(policy.error());
    if (auto own = refuse_daemon_files(*policy, options_.private_paths, (*prov)->isolation()); !own)
        return error_reply(own.error());
    if (auto out = refuse_output_over_ceiling(*j, *policy, options_.max_output_bytes); !out)
        return error_reply(out.error());
    auto s = sessions_->create(provider_name, *policy, who, (*prov)->isolation());
    if (!s && s.error().code == "client_quota") metrics_.quota_refused("sandboxes");
    if (!s) {
        audit_session("create", "", who, s.error().code);
        return error_reply(s.error());
    }
    metrics_.session_event("created");
    audit_session("create", (*s)->id, who, "ok", {{"provider", provider_name}, {"policy", audited_policy((*policy).as_given)}});
    return json_reply(201, {{"id", (*s)->id},
                            {"provider", provider_name},
                            {"work_dir", (*s)->work_dir},
                            {"disk_limit_bytes", session_disk_bytes()},
                            {"idle_timeout_s", options_.session_idle_timeout.count()},
                            {"max_lifetime_s", options_.session_max_lifetime.count()}});
}

Reply Service::delete_session(const std::string& id, const ClientIdentity& who) {
    auto ended = sessions_->end(id, who, SessionEnd::Deleted);
    // An id no session could have (the store's 404) leaves no audit record.
    if (could_be_session_id(id)) audit_session("delete", id, who, ended ? "ok" : ended.error().code);
    if (!ended) return error_reply(ended.error());
    return json_reply(200, {{"id", id}, {"deleted", true}});
}

ApiExpected<std::shared_ptr<Service::Prepared>> Service::prepare_session_exec(
    const std::string& id, const std::string& body, const ClientIdentity& who,
    const CancelToken& client_gone) {
    auto s = sessions_->use(id, who);
    if (!s) return rtfs::Unexpected<ApiError>(s.error());
    auto j = parse_object(body);
    if (!j) return rtfs::Unexpected<ApiError>(j.error());
    // The session's file-system policy stays: its work directory is what the session is.
    std::set<std::string> allowed = policy_keys();
    allowed.erase("fs_policy");
    allowed.insert({"eval", "run", "stream"});
    if (auto k = check_keys(*j, allowed); !k) return rtfs::Unexpected<ApiError>(k.error());
    auto p = std::make_shared<Prepared>();
    p->provider_name = (*s)->provider;
    if (auto run = take_run_fields(*j, parse_policy_over(*j, (*s)->policy), options_.max_output_bytes, *p); !run)
        return rtfs::Unexpected<ApiError>(run.error());
    p->policy.config.env_vars["MICROVM_SANDBOX_DIR"] = (*s)->work_dir;
    p->who = who;
    p->session = *s;
    p->session_id = id;
    return admit(std::move(p), client_gone);
}

Reply Service::put_file(const std::string& id, const std::string& path, const std::string& data,
                        const ClientIdentity& who) {
    auto s = sessions_->use(id, who);
    if (!s) return error_reply(s.error());
    if (data.size() > options_.max_file_bytes)
        return error_reply({413, "too_large", "files are limited to " + std::to_string(options_.max_file_bytes) + " bytes"});
    auto w = write_beneath((*s)->work_fd.get(), path, data);
    audit_session("put_file", id, who, w ? "ok" : w.error().code,
                  {{"path", path}, {"bytes", data.size()}, {"sha256", sha256_hex(data)}});
    if (!w) return error_reply(w.error());
    return json_reply(200, {{"path", path}, {"bytes", data.size()}});
}

Reply Service::get_file(const std::string& id, const std::string& path, const ClientIdentity& who) {
    auto s = sessions_->use(id, who);
    if (!s) return error_reply(s.error());
    // An open file keeps the session's disk after the session ends: it stays in the owner's
    // quota until the download ends (red team, 2026-12-05). Pinned before the file is opened: a
    // session ended in between is not found, rather than downloaded from outside the quota.
    std::shared_ptr<void> pin = sessions_->pin(**s);
    if (!pin) return error_reply({404, "not_found", "no sandbox " + id});
    auto file = open_beneath((*s)->work_fd.get(), path, options_.max_file_bytes);
    audit_session("get_file", id, who, file ? "ok" : file.error().code,
                  {{"path", path}, {"bytes", file ? file->size : 0}});
    if (!file) return error_reply(file.error());
    Reply r;
    r.content_type = "application/octet-stream";
    file->pins = std::move(pin);
    r.file = std::make_shared<ReadableFile>(std::move(*file));
    return r;
}

}  // namespace microvm::service
