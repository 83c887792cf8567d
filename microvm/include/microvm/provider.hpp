// The provider contract (spec section 2). A provider runs a program for real inside its isolation
// boundary, or refuses before anything runs.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "microvm/context.hpp"
#include "microvm/error.hpp"
#include "microvm/result.hpp"

namespace microvm {

struct Availability {
    bool available = false;
    std::string reason;  // why not, when unavailable
};

// One thing a provider cannot enforce or run, reported before anything runs.
struct Unsupported {
    std::string setting;  // e.g. "network_policy", "program"
    std::string reason;
};

class Provider {
public:
    virtual ~Provider() = default;

    virtual std::string_view name() const = 0;
    virtual Isolation isolation() const = 0;
    virtual std::vector<ProgramKind> runs() const = 0;
    virtual Availability availability() const = 0;
    // JSON Schema of the provider-specific settings ([provider_configs.NAME] in the settings file).
    virtual nlohmann::json config_schema() const;

    // Prepares the provider (probes, sweeps stale state of crashed runs). Refuses an unavailable
    // provider and settings that do not match config_schema(), then calls do_initialize() once.
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
    // Thread-safe: one initialized provider runs many executions in parallel.
    ExecutionResult execute_program(const ExecutionContext& ctx);

protected:
    virtual Expected<void> do_initialize(const nlohmann::json& settings) = 0;
    virtual void do_cleanup() {}
    // Runs a context that passed every common check.
    virtual ExecutionResult run(const ExecutionContext& ctx) = 0;

    // A result with status, error and the provider's name/isolation filled in.
    ExecutionResult make_result(const ExecutionContext& ctx, Status status,
                                std::string error_kind = {}, std::string message = {}) const;

private:
    std::string program_kind_refusal(ProgramKind kind) const;

    std::atomic<bool> initialized_{false};
    PeerFinder peers_;
};

}  // namespace microvm
