// The provider contract (spec section 2). A provider runs a program for real inside its isolation
// boundary, or refuses before anything runs.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "microvm/context.hpp"
#include "microvm/error.hpp"
#include "microvm/pool_figures.hpp"
#include "microvm/result.hpp"

namespace microvm {

struct Availability {
    bool available = false;
    std::string reason;  // why not, when unavailable; when available, a note for the operator
};

// One thing a provider cannot enforce or run, reported before anything runs.
struct Unsupported {
    std::string setting;  // e.g. "network_policy", "program"
    std::string reason;
};

// A sandbox a provider built ahead of its execution (a warm pool's entry): everything an
// execution's shape fixes (the policy, the program's files) is in place, waiting for what only
// the execution brings (arguments, environment, input, time limit). Used by at most one
// execution; destroying it unused tears it down. It owns every resource it holds, so it may
// outlive the provider's cleanup() (it is then never used).
class PreparedSandbox {
public:
    virtual ~PreparedSandbox() = default;
    // No longer usable (it ended, what it was built from changed, it waited too long): a pool
    // drops it; fits() says no for it.
    virtual bool expired() const { return false; }
};

class Provider {
public:
    virtual ~Provider() = default;

    virtual std::string_view name() const = 0;
    virtual Isolation isolation() const = 0;
    virtual std::vector<ProgramKind> runs() const = 0;
    virtual Availability availability() const = 0;
    // Whether the provider can run under these settings (valid by config_schema()) where
    // availability() says it cannot: a setting may supply what the host's defaults lack (the
    // process provider's cgroup_parent, a cgroup delegated to a user who is not root). The
    // default: availability().
    virtual Availability availability_under(const nlohmann::json& settings) const;
    // JSON Schema of the provider-specific settings ([provider_configs.NAME] in the settings file).
    virtual nlohmann::json config_schema() const;
    // InvalidConfig naming the provider and the fault when settings do not match config_schema()
    // (what initialize() refuses first; the CLI and microvmd check every configured provider's
    // when they start, not only the one they run).
    Expected<void> check_settings(const nlohmann::json& settings) const;

    // Lifecycle. availability() has no effect beyond probing (it may be cached).
    // initialize() prepares the provider (sweeps stale state of crashed runs): it refuses an
    // unavailable provider and settings that do not match config_schema(); initializing again
    // with the same settings is a no-op, with different ones an InvalidConfig error (cleanup()
    // first). cleanup() refuses new executions, cancels the running ones, waits for them to end
    // and releases the provider; executions after it are `unavailable` until initialize().
    Expected<void> initialize(const nlohmann::json& settings = nlohmann::json::object());
    void cleanup();
    bool initialized() const { return initialized_.load(); }

    // Everything about this context the provider cannot enforce or run; empty = supported.
    // The default checks the program kind against runs(); providers add their own limits.
    virtual std::vector<Unsupported> check(const ExecutionContext& ctx) const;

    // Names of the other providers, registered and available, that run programs of a kind: what
    // a refusal of the program kind suggests instead. Set by the ProviderFactory owning this
    // provider; without it a refusal suggests nothing.
    using PeerFinder = std::function<std::vector<std::string>(ProgramKind)>;
    void set_peer_finder(PeerFinder finder) { peers_ = std::move(finder); }

    // Runs one execution. Common rules are applied here, once for every provider: the provider
    // is initialized, the config is valid, the capability boundary holds, and check() is empty.
    // Thread-safe: one initialized provider runs many executions in parallel. Output is
    // streamed to ctx.on_output while it runs; ctx.cancel ends it as killed (cancelled).
    ExecutionResult execute_program(const ExecutionContext& ctx);

    // Warm pools. prepare() builds a sandbox for executions shaped like `shape` (its program and
    // policy; same common checks as execute_program), or says why not (Unsupported when the
    // provider cannot build ahead). fits() says whether ctx would run in `prepared` exactly as in
    // a sandbox built for it. execute_program(ctx, prepared) runs ctx in it when it fits and
    // otherwise in a fresh sandbox (the prepared one is then discarded): either way it is
    // enforced as a fresh one would be, and the sandbox is used once.
    Expected<std::unique_ptr<PreparedSandbox>> prepare(const ExecutionContext& shape);
    virtual bool fits(const PreparedSandbox& prepared, const ExecutionContext& ctx) const;
    ExecutionResult execute_program(const ExecutionContext& ctx,
                                    std::unique_ptr<PreparedSandbox> prepared);

    // The figures of the pool this provider keeps of its own, if it keeps one and is
    // initialized; nullopt otherwise. Thread-safe.
    std::optional<ProviderPoolFigures> pool_figures();

protected:
    virtual Expected<void> do_initialize(const nlohmann::json& settings) = 0;
    virtual void do_cleanup() {}
    // Runs a context that passed every common check; cancel is the execution's own token
    // (cancelled with the caller's ctx.cancel or by cleanup()), the one to honour.
    virtual ExecutionResult run(const ExecutionContext& ctx, const CancelToken& cancel) = 0;
    // Warm pools: do_prepare() gets a shape that passed the common checks; run_prepared() a
    // context that fits() `prepared`. Defaults: nothing is built ahead (Unsupported).
    virtual Expected<std::unique_ptr<PreparedSandbox>> do_prepare(const ExecutionContext& shape);
    virtual ExecutionResult run_prepared(const ExecutionContext& ctx, const CancelToken& cancel,
                                         PreparedSandbox& prepared);
    // The pool of its own, called while initialized. Default: none.
    virtual std::optional<ProviderPoolFigures> do_pool_figures() const { return std::nullopt; }

    // A result (ok) with the provider's name and isolation filled in.
    ExecutionResult make_result(const ExecutionContext& ctx) const;
    // The same, failed for reason (status from the reason; kind defaults to its name).
    ExecutionResult make_error(const ExecutionContext& ctx, Reason reason, std::string message,
                               std::string kind = {}) const;

private:
    std::string program_kind_refusal(ProgramKind kind) const;
    // The common checks of execute_program and prepare: why ctx cannot run here, if not.
    struct Refusal {
        Reason reason;
        std::string message;
        std::string kind;
    };
    std::optional<Refusal> refusal(const ExecutionContext& ctx) const;
    // Registers a running execution (or preparation), unless the provider is not initialized
    // or closing: cleanup() waits for it to leave().
    std::optional<CancelSource> enter();
    void leave();

    std::atomic<bool> initialized_{false};
    PeerFinder peers_;
    // Lifecycle: the settings it was initialized with, and the executions running now.
    mutable std::mutex lifecycle_mu_;
    std::condition_variable idle_;
    nlohmann::json settings_;
    bool closing_ = false;
    size_t running_ = 0;
    CancelSource all_;  // the parent of every running execution's cancel source
};

}  // namespace microvm
