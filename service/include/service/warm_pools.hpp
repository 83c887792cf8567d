// Warm pools of initialized provider instances, per provider, sized by [service.pools.NAME] in
// the settings file and refilled in the background. What they save is what an instance costs
// before its first execution: initialize() (probes, sweeps, settings) and, with `warmup_eval`,
// whatever the first execution builds and keeps (the wasm provider's compiled RTFS guest).
// Each instance serves exactly one execution and is then cleaned up and thrown away, so an
// execution from a pool shares no provider state with any other; an empty pool is a miss and
// the execution runs on the daemon's shared instance, as without a pool.
//
// Sandboxes built ahead (namespaces, root and cgroup ready for a template) are the other kind of
// pool: sandbox_pools.hpp.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "microvm/factory.hpp"
#include "microvm/settings.hpp"
#include "service/metrics.hpp"

namespace microvm::service {

struct PoolConfig {
    size_t size = 0;
    std::optional<std::string> warmup_eval;  // RTFS run once in each instance before use
};

// [service.pools.NAME] tables: { size = N, warmup_eval = "..." }; errors name the key.
Expected<std::map<std::string, PoolConfig>> read_pool_configs(const Settings& settings);

class WarmPools {
  public:
    WarmPools(Settings settings, std::map<std::string, PoolConfig> pools);
    ~WarmPools();

    // One initialized instance, owned by the lease until retired.
    struct Lease {
        std::unique_ptr<ProviderFactory> factory;
        Provider* provider = nullptr;
        std::string name;
    };
    // An instance from the pool of `name` (a hit), or nullopt (a miss, or no such pool).
    std::optional<Lease> claim(const std::string& name);
    // Cleans the instance up and destroys it, in the background.
    void retire(Lease lease);

    std::map<std::string, Metrics::PoolFigures> figures() const;
    uint64_t created(const std::string& name) const;
    // Waits until every pool is full (tests, benchmarks); false after timeout.
    bool wait_full(std::chrono::milliseconds timeout) const;

  private:
    struct Pool {
        PoolConfig config;
        std::deque<Lease> ready;
        uint64_t hits = 0, misses = 0, created = 0, failures = 0;
        std::string last_error;
    };
    void refill_loop();
    std::optional<Lease> make(const std::string& name, const PoolConfig& config, std::string& error);

    Settings settings_;
    mutable std::mutex mu_;
    mutable std::condition_variable cv_;
    std::map<std::string, Pool> pools_;
    std::deque<Lease> retiring_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace microvm::service
