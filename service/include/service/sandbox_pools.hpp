// Pools of sandboxes built ahead ([service.sandbox_pools.NAME] in the settings file): each pool
// holds up to `size` sandboxes that the daemon's shared instance of one provider prepared for a
// template (a program and a policy), refilled by the pools' own thread. An execution of that
// provider takes a ready sandbox when it fits (Provider::fits: same program files, fs policy,
// network and limits; its own arguments, environment, input and time limit) and runs in it;
// each sandbox serves one execution and is then torn down, so nothing of one execution is left
// for the next. An execution that fits no ready sandbox runs in a fresh one, as without pools.
//
// Sessions: after each exec of a session, the pools' thread builds one sandbox shaped like that
// exec (its program and policy, the session's work directory bound in) for the session's next
// exec alone; one-shot executions never see it. An exec of another shape runs fresh, and the
// next one is shaped like it. It is torn down when the session ends.
//
// The pools' thread is the one that calls prepare() and it lives until every sandbox it built is
// gone: a process sandbox's init dies with the thread that prepared it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "microvm/provider.hpp"
#include "microvm/settings.hpp"
#include "service/metrics.hpp"
#include "service/request_body.hpp"

namespace microvm::service {

struct SandboxPoolConfig {
    std::string provider;
    size_t size = 0;
    ProgramRequest program;  // the program whose files the sandboxes hold
    Policy policy;           // over the settings' default_config, as a request's policy is
};

// [service.sandbox_pools.NAME] tables, in name order: provider, size, exactly one of run (argv)
// and eval = true, and the policy keys of a request body. Errors name the key; a template whose
// network policy has host lists is refused (its egress proxy is each execution's own).
Expected<std::vector<std::pair<std::string, SandboxPoolConfig>>> read_sandbox_pool_configs(
    const Settings& settings);

class SandboxPools {
  public:
    // The daemon's shared, initialized instance of a provider (initializing it if needed).
    using ProviderSource = std::function<Expected<Provider*>(const std::string& name)>;
    // At most max_session_sandboxes sessions have a sandbox kept for their next exec (the most
    // recently used ones; 0: none).
    SandboxPools(std::vector<std::pair<std::string, SandboxPoolConfig>> pools, ProviderSource source,
                 size_t max_session_sandboxes = kDefaultSessionSandboxes);
    static constexpr size_t kDefaultSessionSandboxes = 16;  // ServiceOptions' default too
    // Waits for the sandboxes handed out to be used, then tears down the ready ones.
    ~SandboxPools();
    SandboxPools(const SandboxPools&) = delete;
    SandboxPools& operator=(const SandboxPools&) = delete;

    // A sandbox handed to one execution; the pools count it as out until the claim is destroyed.
    class Claim {
      public:
        Claim(SandboxPools* owner, std::string pool, std::unique_ptr<PreparedSandbox> sandbox);
        Claim(Claim&& other) noexcept;
        Claim& operator=(Claim&&) = delete;
        ~Claim();
        std::unique_ptr<PreparedSandbox> sandbox;  // moved into Provider::execute_program
        const std::string& pool() const { return pool_; }

      private:
        SandboxPools* owner_;
        std::string pool_;
    };

    // One execution of the service (any provider, pooled or not) running while it lives. A
    // refill competes with executions for the same cores and kernel locks (namespaces, mounts,
    // cgroups), so pools that still hold a ready sandbox refill only once no execution has run
    // for kQuietBeforeRefill; a pool that ran dry refills at once.
    class Activity {
      public:
        explicit Activity(SandboxPools* owner);
        Activity(Activity&& other) noexcept;
        Activity& operator=(Activity&&) = delete;
        ~Activity();

      private:
        SandboxPools* owner_;
    };
    static constexpr std::chrono::milliseconds kQuietBeforeRefill{2};
    Activity activity() { return Activity(this); }

    // A ready sandbox of one of the pools of `provider_name` (tried in name order) that ctx fits:
    // a hit for that pool. nullopt when none fits: a miss for every pool of the provider.
    std::optional<Claim> claim(const std::string& provider_name, const Provider& provider,
                               const ExecutionContext& ctx);

    // Sessions. After an exec of session `id` that ran (whose end cancels `session_ended`):
    // build its next sandbox like `shape`, replacing one of another shape. A shape that could not
    // be built is tried again after the session's next exec of it, once; one the provider
    // cannot build ahead (Unsupported) is not. Beyond max_session_sandboxes sessions, the one
    // unused longest loses its slot.
    void keep_for_session(const std::string& id, const CancelToken& session_ended,
                          const std::string& provider_name, const SandboxPoolConfig& shape);
    // The session's sandbox when ctx fits it (a hit of pool "sessions"); one that does not fit
    // is torn down. nullopt: a miss.
    std::optional<Claim> claim_for_session(const std::string& id, const Provider& provider,
                                           const ExecutionContext& ctx);
    // The session ended: its sandbox is torn down (one being built is dropped when done).
    void forget_session(const std::string& id);
    // Whether the session's sandbox is ready (tests); false after timeout.
    bool wait_session_ready(const std::string& id, std::chrono::milliseconds timeout) const;

    // By pool name; the sessions' sandboxes together as pool "sessions" once there was one.
    std::map<std::string, Metrics::PoolFigures> figures() const;
    uint64_t created(const std::string& name) const;
    uint64_t expired(const std::string& name) const;
    std::string last_error(const std::string& name) const;
    // Waits until every pool is full (tests, benchmarks); false after timeout.
    bool wait_full(std::chrono::milliseconds timeout) const;

  private:
    struct Pool {
        std::string name;
        SandboxPoolConfig config;
        std::deque<std::unique_ptr<PreparedSandbox>> ready;
        size_t checking = 0;  // taken out for a fits() check, not yet back or used
        uint64_t hits = 0, misses = 0, created = 0, failures = 0;
        uint64_t expired = 0;  // dropped unused: PreparedSandbox::expired()
        std::string last_error;
        bool unsupported = false;  // prepare() said Unsupported: not retried
        std::chrono::steady_clock::time_point retry_at{};
        // The next execution would miss. A sandbox out for a fits() check may come back, so
        // the pool is not dry until that check ends (it wakes the pools' thread either way).
        bool dry() const { return ready.empty() && checking == 0; }
    };
    struct SessionSlot {
        std::string id;
        CancelToken ended;
        SandboxPoolConfig shape;  // size 1
        uint64_t shape_generation = 0;  // a sandbox built for an older shape is discarded
        std::unique_ptr<PreparedSandbox> ready;
        bool building = false;
        bool wanted = true;        // false after a failed build, until the next exec of the shape
        bool unsupported = false;  // the provider cannot build this shape ahead: never again
        std::chrono::steady_clock::time_point last_kept{};
    };
    struct SessionFigures {
        uint64_t hits = 0, misses = 0, failures = 0;
        bool used = false;
    };
    // A sandbox built for shape by its provider (called unlocked, on the pools' thread).
    Expected<std::unique_ptr<PreparedSandbox>> prepare(const SandboxPoolConfig& shape) const;
    void refill_loop();
    // With mu_ held: a session whose sandbox should be built now (none while executions run),
    // or when to look again (nullopt: when something changes).
    std::shared_ptr<SessionSlot> session_wanting_build(std::chrono::steady_clock::time_point now,
                                                       std::optional<std::chrono::steady_clock::time_point>& look_again);
    // Builds it (called unlocked, returns locked).
    void build_for_session(std::unique_lock<std::mutex>& lock, std::shared_ptr<SessionSlot> slot);
    Pool* wanting_refill(std::chrono::steady_clock::time_point now);
    // With mu_ held: when `pool` may refill next (now, or after the executions' quiet moment).
    std::optional<std::chrono::steady_clock::time_point> refill_deferred_locked(
        const Pool& pool, std::chrono::steady_clock::time_point now) const;
    // Tears down the ready sandboxes that expired (outside the lock, one at a time).
    void drop_expired(std::unique_lock<std::mutex>& lock);
    // With mu_ held: the pool's oldest ready sandbox taken out for a look (null when none or
    // stopping), and put back (at the front or the end; null: it expired and was torn down).
    std::unique_ptr<PreparedSandbox> take_locked(Pool& pool);
    void back_locked(Pool& pool, std::unique_ptr<PreparedSandbox> sandbox, bool front);
    void returned();

    ProviderSource source_;
    mutable std::mutex mu_;
    mutable std::condition_variable cv_;
    std::deque<Pool> pools_;  // in name order; never added to or removed from after start
    std::map<std::string, std::shared_ptr<SessionSlot>> sessions_;  // by session id
    size_t max_session_sandboxes_;
    SessionFigures session_figures_;
    size_t out_ = 0;           // claims alive
    size_t active_ = 0;        // Activity objects alive
    std::chrono::steady_clock::time_point last_activity_end_{};
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace microvm::service
