#include "service/warm_pools.hpp"

#include "microvm/execution_id.hpp"

namespace microvm::service {

Expected<std::map<std::string, PoolConfig>> read_pool_configs(const Settings& settings) {
    std::map<std::string, PoolConfig> out;
    const std::string where = settings.service_origin.empty() ? "[service]" : settings.service_origin;
    for (const auto& [key, value] : settings.service.items()) {
        if (key == "audit" || key == "sandbox_pools") continue;  // read_audit_rotation's, read_sandbox_pool_configs'
        if (key != "pools")
            return fail(Failure::Kind::InvalidConfig,
                        where + ": service." + key + ": unknown key (known: audit, pools, sandbox_pools)");
        if (!value.is_object())
            return fail(Failure::Kind::InvalidConfig, where + ": service.pools: expected a table of provider names");
        for (const auto& [name, pool] : value.items()) {
            const std::string p = "service.pools." + name;
            if (!pool.is_object()) return fail(Failure::Kind::InvalidConfig, where + ": " + p + ": expected a table");
            PoolConfig c;
            for (const auto& [k, v] : pool.items()) {
                if (k == "size") {
                    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 256)
                        return fail(Failure::Kind::InvalidConfig, where + ": " + p + ".size: expected an integer from 0 to 256");
                    c.size = v.get<size_t>();
                } else if (k == "warmup_eval") {
                    if (!v.is_string()) return fail(Failure::Kind::InvalidConfig, where + ": " + p + ".warmup_eval: expected RTFS source");
                    c.warmup_eval = v.get<std::string>();
                } else {
                    return fail(Failure::Kind::InvalidConfig, where + ": " + p + "." + k + ": unknown key (known: size, warmup_eval)");
                }
            }
            out[name] = c;
        }
    }
    return out;
}

WarmPools::WarmPools(Settings settings, std::map<std::string, PoolConfig> pools) : settings_(std::move(settings)) {
    for (auto& [name, config] : pools) pools_[name].config = config;
    thread_ = std::thread([this] { refill_loop(); });
}

WarmPools::~WarmPools() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
    for (auto& [name, pool] : pools_)
        for (auto& lease : pool.ready) lease.factory->cleanup_all();
    for (auto& lease : retiring_) lease.factory->cleanup_all();
}

std::optional<WarmPools::Lease> WarmPools::make(const std::string& name, const PoolConfig& config, std::string& error) {
    Lease lease;
    lease.name = name;
    lease.factory = std::make_unique<ProviderFactory>();
    if (auto init = initialize_provider_from_settings(*lease.factory, settings_, name); !init) {
        error = init.error().message;
        return std::nullopt;
    }
    auto p = lease.factory->get_provider(name);
    if (!p) {
        error = p.error().message;
        return std::nullopt;
    }
    lease.provider = *p;
    if (config.warmup_eval) {
        ExecutionContext ctx;
        ctx.execution_id = new_execution_id();
        ctx.program = RtfsSource{*config.warmup_eval};
        ctx.config = settings_.default_config;
        ExecutionResult r = lease.provider->execute_program(ctx);
        if (!r.ok()) {
            error = "warmup_eval failed: " + (r.error ? r.error->message : std::string(to_string(r.status)));
            lease.factory->cleanup_all();
            return std::nullopt;
        }
    }
    return lease;
}

void WarmPools::refill_loop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
        // Retired instances first: their cleanup ends what they ran.
        if (!retiring_.empty()) {
            Lease old = std::move(retiring_.front());
            retiring_.pop_front();
            lock.unlock();
            old.factory->cleanup_all();
            old = Lease{};
            lock.lock();
            continue;
        }
        std::string want;
        PoolConfig config;
        for (auto& [name, pool] : pools_) {
            if (pool.ready.size() < pool.config.size && pool.last_error.empty()) {
                want = name;
                config = pool.config;
                break;
            }
        }
        if (want.empty()) {
            // Nothing to do; a failed pool is retried every few seconds.
            cv_.wait_for(lock, std::chrono::seconds(3));
            for (auto& [name, pool] : pools_) pool.last_error.clear();
            continue;
        }
        lock.unlock();
        std::string error;
        auto lease = make(want, config, error);
        lock.lock();
        Pool& pool = pools_[want];
        if (lease) {
            ++pool.created;
            pool.ready.push_back(std::move(*lease));
            cv_.notify_all();
        } else {
            ++pool.failures;
            pool.last_error = error;
        }
    }
}

std::optional<WarmPools::Lease> WarmPools::claim(const std::string& name) {
    std::optional<Lease> out;
    {
        std::lock_guard lock(mu_);
        auto it = pools_.find(name);
        if (it == pools_.end() || it->second.config.size == 0) return std::nullopt;
        Pool& pool = it->second;
        if (pool.ready.empty()) {
            ++pool.misses;
        } else {
            ++pool.hits;
            out = std::move(pool.ready.front());
            pool.ready.pop_front();
        }
    }
    cv_.notify_all();  // refill
    return out;
}

void WarmPools::retire(Lease lease) {
    {
        std::lock_guard lock(mu_);
        retiring_.push_back(std::move(lease));
    }
    cv_.notify_all();
}

std::map<std::string, Metrics::PoolFigures> WarmPools::figures() const {
    std::lock_guard lock(mu_);
    std::map<std::string, Metrics::PoolFigures> out;
    for (const auto& [name, pool] : pools_) out[name] = {pool.ready.size(), pool.config.size, pool.hits, pool.misses, pool.failures};
    return out;
}

uint64_t WarmPools::created(const std::string& name) const {
    std::lock_guard lock(mu_);
    auto it = pools_.find(name);
    return it == pools_.end() ? 0 : it->second.created;
}

bool WarmPools::wait_full(std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [this] {
        for (const auto& [name, pool] : pools_)
            if (pool.ready.size() < pool.config.size) return false;
        return true;
    });
}

}  // namespace microvm::service
