#include "service/sandbox_pools.hpp"

#include <algorithm>
#include <cstdio>

#include "host/egress.hpp"
#include "microvm/execution_id.hpp"

namespace microvm::service {

using nlohmann::json;

namespace {

// How long a pool whose prepare() failed waits before trying again.
constexpr std::chrono::seconds kRetryAfter{3};
// How often an idle pools' thread drops the ready sandboxes that expired while they waited.
constexpr std::chrono::seconds kSweepEvery{5};

Expected<SandboxPoolConfig> read_one(const Settings& settings, const std::string& where,
                                     const std::string& p, const json& table) {
    auto bad = [&](const std::string& what) { return fail(Failure::Kind::InvalidConfig, where + ": " + p + what); };
    if (!table.is_object()) return bad(": expected a table");
    SandboxPoolConfig c;
    json policy = json::object();
    bool has_run = false, has_eval = false, has_provider = false;
    for (const auto& [k, v] : table.items()) {
        if (k == "provider") {
            if (!v.is_string() || v.get<std::string>().empty()) return bad(".provider: expected a provider name");
            c.provider = v.get<std::string>();
            has_provider = true;
        } else if (k == "size") {
            if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 256)
                return bad(".size: expected an integer from 0 to 256");
            c.size = v.get<size_t>();
        } else if (k == "run") {
            auto program = parse_program(json{{"run", v}});
            if (!program) return bad("." + program.error().message);
            c.program = std::move(*program);
            has_run = true;
        } else if (k == "eval") {
            if (v != true) return bad(".eval: expected true (the sandboxes hold the RTFS guest runner)");
            // The source travels at launch; the sandbox holds only the runner.
            c.program.program = RtfsSource{"nil"};
            c.program.is_eval = true;
            has_eval = true;
        } else if (policy_keys().count(k)) {
            policy[k] = v;
        } else {
            std::string known = "provider, size, run, eval";
            for (const auto& key : policy_keys()) known += ", " + key;
            return bad("." + k + ": unknown key (known: " + known + ")");
        }
    }
    if (!has_provider) return bad(".provider: missing (the provider whose sandboxes the pool holds)");
    if (has_run == has_eval) return bad(": give exactly one of run (argv array) and eval = true");
    auto parsed = parse_policy(policy, settings);
    if (!parsed) return bad("." + parsed.error().message);
    c.policy = std::move(*parsed);
    if (host::needs_egress(c.policy.config.network_policy))
        return bad(".network_policy: a sandbox with a host list is not built ahead (its egress proxy "
                   "is the execution's own)");
    return c;
}

}  // namespace

Expected<std::vector<std::pair<std::string, SandboxPoolConfig>>> read_sandbox_pool_configs(
    const Settings& settings) {
    std::vector<std::pair<std::string, SandboxPoolConfig>> out;
    if (!settings.service.contains("sandbox_pools")) return out;
    const std::string where = settings.service_origin.empty() ? "[service]" : settings.service_origin;
    const json& tables = settings.service.at("sandbox_pools");
    if (!tables.is_object())
        return fail(Failure::Kind::InvalidConfig, where + ": service.sandbox_pools: expected a table of pool names");
    for (const auto& [name, table] : tables.items()) {
        RTFS_TRY(auto config, read_one(settings, where, "service.sandbox_pools." + name, table));
        out.emplace_back(name, std::move(config));
    }
    return out;
}

SandboxPools::Claim::Claim(SandboxPools* owner, std::string pool, std::unique_ptr<PreparedSandbox> s)
    : sandbox(std::move(s)), owner_(owner), pool_(std::move(pool)) {}

SandboxPools::Claim::Claim(Claim&& other) noexcept
    : sandbox(std::move(other.sandbox)), owner_(other.owner_), pool_(std::move(other.pool_)) {
    other.owner_ = nullptr;
}

SandboxPools::Claim::~Claim() {
    sandbox.reset();  // torn down before the pools may stop (and their thread end)
    if (owner_) owner_->returned();
}

SandboxPools::SandboxPools(std::vector<std::pair<std::string, SandboxPoolConfig>> pools,
                           ProviderSource source, size_t max_session_sandboxes)
    : source_(std::move(source)), max_session_sandboxes_(max_session_sandboxes) {
    for (auto& [name, config] : pools) {
        Pool& p = pools_.emplace_back();
        p.name = name;
        p.config = std::move(config);
    }
    thread_ = std::thread([this] { refill_loop(); });
}

SandboxPools::~SandboxPools() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

SandboxPools::Activity::Activity(SandboxPools* owner) : owner_(owner) {
    std::lock_guard lock(owner_->mu_);
    ++owner_->active_;
}

SandboxPools::Activity::Activity(Activity&& other) noexcept : owner_(other.owner_) {
    other.owner_ = nullptr;
}

SandboxPools::Activity::~Activity() {
    if (!owner_) return;
    {
        std::lock_guard lock(owner_->mu_);
        --owner_->active_;
        owner_->last_activity_end_ = std::chrono::steady_clock::now();
    }
    owner_->cv_.notify_all();
}

std::optional<std::chrono::steady_clock::time_point> SandboxPools::refill_deferred_locked(
    const Pool& pool, std::chrono::steady_clock::time_point now) const {
    if (pool.dry()) return std::nullopt;  // refilled even while executions run
    if (active_ > 0) return now + std::chrono::seconds(1);  // woken when the last one ends
    const auto quiet_at = last_activity_end_ + kQuietBeforeRefill;
    if (now < quiet_at) return quiet_at;
    return std::nullopt;
}

void SandboxPools::returned() {
    {
        std::lock_guard lock(mu_);
        --out_;
    }
    cv_.notify_all();
}

SandboxPools::Pool* SandboxPools::wanting_refill(std::chrono::steady_clock::time_point now) {
    auto wants = [&](const Pool& pool) {
        return pool.ready.size() + pool.checking < pool.config.size && !pool.unsupported &&
               now >= pool.retry_at;
    };
    for (auto& pool : pools_)  // dry pools first: they refill even while executions run
        if (wants(pool) && pool.dry()) return &pool;
    for (auto& pool : pools_)
        if (wants(pool)) return &pool;
    return nullptr;
}

void SandboxPools::drop_expired(std::unique_lock<std::mutex>& lock) {
    // Session sandboxes: those of sessions that ended without forget_session (a race with their
    // last exec) go, and so do those that expired; the look is taken unlocked.
    struct Looked {
        std::shared_ptr<SessionSlot> slot;
        uint64_t generation;
        std::unique_ptr<PreparedSandbox> sandbox;
    };
    std::vector<Looked> looked;
    std::vector<std::unique_ptr<PreparedSandbox>> doomed;
    for (auto it = sessions_.begin(); it != sessions_.end();) {
        SessionSlot& slot = *it->second;
        if (slot.ended.cancelled()) {
            if (slot.ready) doomed.push_back(std::move(slot.ready));
            it = sessions_.erase(it);
            continue;
        }
        if (slot.ready) {
            ++out_;  // the pools do not stop under it
            looked.push_back({it->second, slot.shape_generation, std::move(slot.ready)});
        }
        ++it;
    }
    lock.unlock();
    doomed.clear();
    for (auto& l : looked)
        if (l.sandbox->expired()) l.sandbox.reset();
    lock.lock();
    for (auto& l : looked) {
        --out_;
        auto it = sessions_.find(l.slot->id);
        const bool current = it != sessions_.end() && it->second == l.slot && !l.slot->ready &&
                             l.slot->shape_generation == l.generation && !stopping_;
        if (current && l.sandbox) l.slot->ready = std::move(l.sandbox);
        else if (l.sandbox) doomed.push_back(std::move(l.sandbox));
    }
    if (!doomed.empty()) {
        lock.unlock();
        doomed.clear();
        lock.lock();
    }
    cv_.notify_all();
    for (auto& pool : pools_) {
        // Each ready sandbox once, oldest first, put back at the end when still usable.
        for (size_t n = pool.ready.size(); n > 0; --n) {
            std::unique_ptr<PreparedSandbox> s = take_locked(pool);
            if (!s) break;
            lock.unlock();
            if (s->expired()) s.reset();  // torn down outside the lock
            lock.lock();
            back_locked(pool, std::move(s), false);
        }
    }
}

Expected<std::unique_ptr<PreparedSandbox>> SandboxPools::prepare(const SandboxPoolConfig& shape) const {
    ExecutionContext ctx = execution_context(shape.program.program, shape.policy);
    ctx.execution_id = new_execution_id();
    RTFS_TRY(Provider * provider, source_(shape.provider));
    return provider->prepare(ctx);
}

void SandboxPools::refill_loop() {
    auto next_sweep = std::chrono::steady_clock::now() + kSweepEvery;
    std::unique_lock lock(mu_);
    while (!stopping_) {
        auto now = std::chrono::steady_clock::now();
        if (now >= next_sweep) {  // on its own timer: refills may be deferred for long
            drop_expired(lock);
            next_sweep = std::chrono::steady_clock::now() + kSweepEvery;
            continue;
        }
        Pool* pool = wanting_refill(now);
        std::optional<std::chrono::steady_clock::time_point> wake;
        if (!pool) {
            std::optional<std::chrono::steady_clock::time_point> look_again;
            if (auto slot = session_wanting_build(now, look_again)) {
                build_for_session(lock, std::move(slot));
                continue;
            }
            // Nothing to build: until the sweep, or a session's quiet moment; a new want, the
            // end of an execution or a claim wakes it.
            wake = std::min(look_again.value_or(next_sweep), now + std::chrono::seconds(1));
        } else {
            wake = refill_deferred_locked(*pool, now);
        }
        if (wake) {
            cv_.wait_until(lock, std::min(*wake, next_sweep));
            continue;
        }
        // Pool entries are never added or removed, so the pointer stays valid unlocked.
        const SandboxPoolConfig& config = pool->config;
        lock.unlock();
        auto built = prepare(config);
        lock.lock();
        if (built) {
            ++pool->created;
            pool->last_error.clear();
            pool->ready.push_back(std::move(*built));
            cv_.notify_all();
            continue;
        }
        ++pool->failures;
        pool->unsupported = built.error().kind == Failure::Kind::Unsupported;
        pool->retry_at = std::chrono::steady_clock::now() + kRetryAfter;
        if (pool->last_error != built.error().message) {  // logged once per distinct error
            std::fprintf(stderr, "microvmd: sandbox pool '%s': %s%s\n", pool->name.c_str(),
                         built.error().message.c_str(),
                         pool->unsupported ? " (not retried)" : " (retried every 3 s)");
        }
        pool->last_error = built.error().message;
    }
    // Sandboxes in executions end with their claims; the ready ones are torn down here, before
    // this thread (their init's parent-death signal) ends.
    cv_.wait(lock, [this] { return out_ == 0; });
    std::vector<std::unique_ptr<PreparedSandbox>> doomed;
    for (auto& pool : pools_)
        for (auto& s : pool.ready) doomed.push_back(std::move(s));
    for (auto& pool : pools_) pool.ready.clear();
    for (auto& [id, slot] : sessions_)
        if (slot->ready) doomed.push_back(std::move(slot->ready));
    sessions_.clear();
    lock.unlock();
    doomed.clear();
}

std::unique_ptr<PreparedSandbox> SandboxPools::take_locked(Pool& pool) {
    if (stopping_ || pool.ready.empty()) return nullptr;
    std::unique_ptr<PreparedSandbox> s = std::move(pool.ready.front());
    pool.ready.pop_front();
    ++pool.checking;
    ++out_;  // the pools do not stop under a sandbox being looked at
    return s;
}

void SandboxPools::back_locked(Pool& pool, std::unique_ptr<PreparedSandbox> sandbox, bool front) {
    --pool.checking;
    --out_;
    if (!sandbox) {
        ++pool.expired;
    } else if (front) {
        pool.ready.push_front(std::move(sandbox));
    } else {
        pool.ready.push_back(std::move(sandbox));
    }
    cv_.notify_all();  // refill, or the stop waiting for out_
}

std::optional<SandboxPools::Claim> SandboxPools::claim(const std::string& provider_name,
                                                       const Provider& provider,
                                                       const ExecutionContext& ctx) {
    for (auto& pool : pools_) {
        if (pool.config.provider != provider_name || pool.config.size == 0) continue;
        for (;;) {
            std::unique_ptr<PreparedSandbox> candidate;
            {
                std::lock_guard lock(mu_);
                candidate = take_locked(pool);
            }
            if (!candidate) break;
            // expired() and fits() look at the host's files: outside the lock. An expired
            // sandbox (its init ended, a bound file was replaced, it waited too long) is torn
            // down and the next one looked at.
            if (candidate->expired()) {
                candidate.reset();
                std::lock_guard lock(mu_);
                back_locked(pool, nullptr, true);
                continue;
            }
            if (provider.fits(*candidate, ctx)) {
                {
                    std::lock_guard lock(mu_);
                    --pool.checking;
                    ++pool.hits;  // out_ stays counted until the claim ends
                }
                cv_.notify_all();  // refill
                return Claim(this, pool.name, std::move(candidate));
            }
            // Every sandbox of a pool has the pool's shape: one that does not fit means none does.
            std::lock_guard lock(mu_);
            back_locked(pool, std::move(candidate), true);
            break;
        }
    }
    std::lock_guard lock(mu_);
    for (auto& pool : pools_)
        if (pool.config.provider == provider_name && pool.config.size > 0) ++pool.misses;
    return std::nullopt;
}

namespace {

// What a session's sandbox is built for: the provider, the program's executable (its arguments
// are the launch's) and the policy as given without its environment (also the launch's).
std::string session_shape_key(const SandboxPoolConfig& shape) {
    std::string program = shape.program.is_eval ? "eval" : "run";
    if (const auto* external = std::get_if<ExternalProgram>(&shape.program.program)) program += ":" + external->path;
    nlohmann::json policy = shape.policy.as_given;
    policy.erase("env_vars");
    return shape.provider + "\n" + program + "\n" + policy.dump();
}

}  // namespace

void SandboxPools::keep_for_session(const std::string& id, const CancelToken& session_ended,
                                    const std::string& provider_name, const SandboxPoolConfig& shape) {
    std::vector<std::unique_ptr<PreparedSandbox>> doomed;  // torn down unlocked, on return
    {
        std::lock_guard lock(mu_);
        if (stopping_ || session_ended.cancelled() || max_session_sandboxes_ == 0) return;
        auto it = sessions_.find(id);
        if (it == sessions_.end()) {
            if (sessions_.size() >= max_session_sandboxes_) {  // the session unused longest gives way
                auto lru = std::min_element(sessions_.begin(), sessions_.end(), [](const auto& a, const auto& b) {
                    return a.second->last_kept < b.second->last_kept;
                });
                if (lru->second->ready) doomed.push_back(std::move(lru->second->ready));
                sessions_.erase(lru);  // a build in progress drops its result
            }
            auto slot = std::make_shared<SessionSlot>();
            slot->id = id;
            slot->ended = session_ended;
            it = sessions_.emplace(id, std::move(slot)).first;
        }
        SessionSlot& slot = *it->second;
        slot.last_kept = std::chrono::steady_clock::now();
        session_figures_.used = true;
        SandboxPoolConfig next = shape;
        next.provider = provider_name;
        next.size = 1;
        if (slot.shape_generation == 0 || session_shape_key(slot.shape) != session_shape_key(next)) {
            slot.shape = std::move(next);
            ++slot.shape_generation;  // a build for the old shape in progress is discarded
            slot.unsupported = false;
            slot.wanted = true;
            if (slot.ready) doomed.push_back(std::move(slot.ready));
        } else if (!slot.unsupported) {
            slot.wanted = true;  // after a failed build: once more, for this exec
        }
    }
    cv_.notify_all();
}

std::optional<SandboxPools::Claim> SandboxPools::claim_for_session(const std::string& id, const Provider& provider,
                                                                   const ExecutionContext& ctx) {
    std::unique_ptr<PreparedSandbox> candidate;
    {
        std::lock_guard lock(mu_);
        auto it = sessions_.find(id);
        if (stopping_ || it == sessions_.end() || !it->second->ready) {
            if (it != sessions_.end()) ++session_figures_.misses;
            return std::nullopt;
        }
        candidate = std::move(it->second->ready);
        ++out_;
    }
    // Outside the lock: expired() and fits() look at the host's files.
    const bool fits = !candidate->expired() && provider.fits(*candidate, ctx);
    {
        std::lock_guard lock(mu_);
        ++(fits ? session_figures_.hits : session_figures_.misses);
    }
    if (fits) return Claim(this, "sessions", std::move(candidate));
    candidate.reset();  // torn down; the exec's keep_for_session builds the next one
    returned();
    return std::nullopt;
}

void SandboxPools::forget_session(const std::string& id) {
    std::unique_ptr<PreparedSandbox> doomed;
    {
        std::lock_guard lock(mu_);
        auto it = sessions_.find(id);
        if (it == sessions_.end()) return;
        doomed = std::move(it->second->ready);
        sessions_.erase(it);  // a build in progress drops its result
    }
    cv_.notify_all();
    // doomed is torn down here, unlocked.
}

std::shared_ptr<SandboxPools::SessionSlot> SandboxPools::session_wanting_build(
    std::chrono::steady_clock::time_point now, std::optional<std::chrono::steady_clock::time_point>& look_again) {
    std::shared_ptr<SessionSlot> wanting;
    for (auto& [id, slot] : sessions_) {
        if (!slot->ready && !slot->building && slot->wanted && !slot->unsupported && !slot->ended.cancelled()) {
            wanting = slot;
            break;
        }
    }
    if (!wanting) return nullptr;
    if (active_ > 0) return nullptr;  // woken when the last execution ends
    const auto quiet_at = last_activity_end_ + kQuietBeforeRefill;
    if (now < quiet_at) {
        look_again = quiet_at;
        return nullptr;
    }
    return wanting;
}

void SandboxPools::build_for_session(std::unique_lock<std::mutex>& lock, std::shared_ptr<SessionSlot> slot) {
    slot->building = true;
    const uint64_t generation = slot->shape_generation;
    const SandboxPoolConfig shape = slot->shape;
    lock.unlock();
    auto built = prepare(shape);
    std::unique_ptr<PreparedSandbox> doomed;
    lock.lock();
    slot->building = false;
    auto it = sessions_.find(slot->id);
    const bool current = !stopping_ && it != sessions_.end() && it->second == slot &&
                         slot->shape_generation == generation && !slot->ended.cancelled() && !slot->ready;
    if (built) {
        if (current) slot->ready = std::move(*built);
        else doomed = std::move(*built);
    } else if (slot->shape_generation == generation) {
        // Not retried by itself: a shape the provider cannot build ahead (qemu, wasm, a policy
        // it refuses ahead) never, another failure after the session's next exec of it.
        slot->wanted = false;
        if (built.error().kind == Failure::Kind::Unsupported) {
            slot->unsupported = true;
        } else {
            ++session_figures_.failures;
        }
    }
    cv_.notify_all();
    if (doomed) {
        lock.unlock();
        doomed.reset();
        lock.lock();
    }
}

bool SandboxPools::wait_session_ready(const std::string& id, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
        auto it = sessions_.find(id);
        return it != sessions_.end() && it->second->ready != nullptr;
    });
}

std::map<std::string, Metrics::PoolFigures> SandboxPools::figures() const {
    std::lock_guard lock(mu_);
    std::map<std::string, Metrics::PoolFigures> out;
    for (const auto& pool : pools_)
        out[pool.name] = {pool.ready.size(), pool.config.size, pool.hits, pool.misses, pool.failures};
    if (session_figures_.used) {
        size_t ready = 0;
        for (const auto& [id, slot] : sessions_) ready += slot->ready ? 1 : 0;
        out["sessions"] = {ready, sessions_.size(), session_figures_.hits, session_figures_.misses,
                           session_figures_.failures};
    }
    return out;
}

uint64_t SandboxPools::created(const std::string& name) const {
    std::lock_guard lock(mu_);
    for (const auto& pool : pools_)
        if (pool.name == name) return pool.created;
    return 0;
}

uint64_t SandboxPools::expired(const std::string& name) const {
    std::lock_guard lock(mu_);
    for (const auto& pool : pools_)
        if (pool.name == name) return pool.expired;
    return 0;
}

std::string SandboxPools::last_error(const std::string& name) const {
    std::lock_guard lock(mu_);
    for (const auto& pool : pools_)
        if (pool.name == name) return pool.last_error;
    return {};
}

bool SandboxPools::wait_full(std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [this] {
        for (const auto& pool : pools_)
            if (pool.ready.size() < pool.config.size) return false;
        return true;
    });
}

}  // namespace microvm::service
