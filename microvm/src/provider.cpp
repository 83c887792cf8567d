// The rules every provider follows, implemented once: lifecycle, config validation, the
// capability boundary and the up-front refusal of what a provider cannot enforce.
#include "microvm/provider.hpp"

#include <algorithm>
#include <optional>
#include <chrono>
#include <cstdio>

#include "json_schema.hpp"
#include "microvm/errors.hpp"
#include "microvm/execution_id.hpp"
#include "text_util.hpp"

namespace microvm {
namespace {

std::string describe(const Provider& p, const std::vector<Unsupported>& problems) {
    std::vector<std::string> parts;
    for (const Unsupported& u : problems) {
        std::string verb = u.setting == "program" ? "run the " : "enforce ";
        parts.push_back("provider '" + std::string(p.name()) + "' cannot " + verb + u.setting +
                        ": " + u.reason);
    }
    return text::join(parts, "; ");
}

}  // namespace

std::string Provider::program_kind_refusal(ProgramKind kind) const {
    std::vector<std::string> runs;
    for (ProgramKind k : this->runs()) runs.emplace_back(to_string(k));
    std::string reason = "it runs only " + text::join(runs, ", ") + " programs";
    std::vector<std::string> others = peers_ ? peers_(kind) : std::vector<std::string>{};
    std::erase(others, std::string(name()));
    if (!others.empty()) {
        reason += "; use " + text::join(others, ", ") + " for " + to_string(kind) + " programs";
    }
    return reason;
}

Availability Provider::availability_under(const nlohmann::json&) const { return availability(); }

nlohmann::json Provider::config_schema() const {
    return {{"type", "object"},
            {"properties", nlohmann::json::object()},
            {"additionalProperties", false}};
}

Expected<void> Provider::check_settings(const nlohmann::json& settings) const {
    if (auto valid = validate_json_schema(settings, config_schema()); !valid) {
        return fail(Failure::Kind::InvalidConfig,
                    "settings of provider '" + std::string(name()) + "': " + valid.error().message);
    }
    return Ok{};
}

// Callers serialise initialize() and cleanup() of one instance (ProviderFactory holds its lock).
Expected<void> Provider::initialize(const nlohmann::json& settings) {
    const std::string who = "provider '" + std::string(name()) + "'";
    if (initialized_.load()) {
        std::lock_guard lock(lifecycle_mu_);
        if (settings == settings_) return Ok{};
        return fail(Failure::Kind::InvalidConfig,
                    who + " is already initialized with other settings; clean it up first");
    }
    Availability a = availability();
    if (!a.available && validate_json_schema(settings, config_schema())) a = availability_under(settings);
    if (!a.available) {
        return fail(Failure::Kind::ProviderUnavailable, who + " is unavailable: " + a.reason);
    }
    RTFS_CHECK(check_settings(settings));
    RTFS_CHECK(do_initialize(settings));
    {
        std::lock_guard lock(lifecycle_mu_);
        settings_ = settings;
        all_ = CancelSource();
        closing_ = false;
    }
    initialized_.store(true);
    return Ok{};
}

void Provider::cleanup() {
    {
        std::unique_lock lock(lifecycle_mu_);
        if (!initialized_.load() || closing_) return;
        closing_ = true;  // no new executions from here on
        all_.cancel();    // the running ones end promptly, as cancelled
        idle_.wait(lock, [&] { return running_ == 0; });
    }
    do_cleanup();
    std::lock_guard lock(lifecycle_mu_);
    initialized_.store(false);
    closing_ = false;
}

std::vector<Unsupported> Provider::check(const ExecutionContext& ctx) const {
    std::vector<Unsupported> problems;
    if (!ctx.program) return problems;
    ProgramKind kind = kind_of(*ctx.program);
    std::vector<ProgramKind> kinds = runs();
    if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) {
        problems.push_back({"program", program_kind_refusal(kind)});
    }
    return problems;
}

ExecutionResult Provider::make_result(const ExecutionContext& ctx) const {
    ExecutionResult r;
    r.execution_id = ctx.execution_id;
    r.status = Status::Ok;
    r.metadata.provider = std::string(name());
    r.metadata.isolation = isolation();
    return r;
}

ExecutionResult Provider::make_error(const ExecutionContext& ctx, Reason reason,
                                     std::string message, std::string kind) const {
    ExecutionResult r = make_result(ctx);
    set_error(r, reason, std::move(message), std::move(kind));
    return r;
}

std::optional<CancelSource> Provider::enter() {
    std::lock_guard lock(lifecycle_mu_);
    if (!initialized_.load() || closing_) return std::nullopt;
    ++running_;
    return CancelSource::child_of(all_.token());
}

std::optional<ProviderPoolFigures> Provider::pool_figures() {
    {
        std::lock_guard lock(lifecycle_mu_);
        if (!initialized_.load() || closing_) return std::nullopt;
        ++running_;  // cleanup() waits: the provider's state stays while it is read
    }
    auto figures = do_pool_figures();
    leave();
    return figures;
}

void Provider::leave() {
    std::lock_guard lock(lifecycle_mu_);
    if (--running_ == 0) idle_.notify_all();
}

std::optional<Provider::Refusal> Provider::refusal(const ExecutionContext& ctx) const {
    if (auto valid = ctx.config.validate(); !valid) {
        return Refusal{Reason::InvalidConfig, valid.error().message, {}};
    }
    if (!ctx.program) return Refusal{Reason::InvalidProgram, "no program to run", {}};
    if (ctx.capability_id &&
        std::find(ctx.capability_permissions.begin(), ctx.capability_permissions.end(),
                  *ctx.capability_id) == ctx.capability_permissions.end()) {
        return Refusal{Reason::CapabilityDenied,
                       "capability '" + *ctx.capability_id + "' is not permitted (permitted: " +
                           (ctx.capability_permissions.empty()
                                ? std::string("none")
                                : text::join(ctx.capability_permissions, ", ")) +
                           ")",
                       "SecurityViolation"};
    }
    if (auto problems = check(ctx); !problems.empty()) {
        return Refusal{Reason::PolicyRefused, describe(*this, problems), {}};
    }
    return std::nullopt;
}

ExecutionResult Provider::execute_program(const ExecutionContext& given) {
    return execute_program(given, nullptr);
}

ExecutionResult Provider::execute_program(const ExecutionContext& given,
                                          std::unique_ptr<PreparedSandbox> prepared) {
    const auto started = std::chrono::steady_clock::now();
    // Every execution has an id (providers name cgroups and temp dirs after it).
    std::optional<ExecutionContext> with_id;
    if (given.execution_id.empty()) {
        with_id = given;
        with_id->execution_id = new_execution_id();
    }
    const ExecutionContext& ctx = with_id ? *with_id : given;

    // Registered as running (cleanup() waits for it and can cancel it), unless closing.
    std::optional<CancelSource> cancel = enter();
    if (cancel) cancel->follow(ctx.cancel);
    ExecutionResult r;
    bool refused = true;
    if (!cancel) {
        r = make_error(ctx, Reason::Unavailable,
                       "provider '" + std::string(name()) +
                           "' is not initialized; call initialize first");
    } else if (auto refused_by = refusal(ctx)) {
        r = make_error(ctx, refused_by->reason, std::move(refused_by->message),
                       std::move(refused_by->kind));
    } else {
        refused = false;
        r = prepared && fits(*prepared, ctx) ? run_prepared(ctx, cancel->token(), *prepared)
                                             : run(ctx, cancel->token());
    }
    prepared.reset();  // used once, or not at all: torn down while still registered as running
    if (cancel) leave();
    if (refused) r.metadata.duration = std::chrono::steady_clock::now() - started;
    r.execution_id = ctx.execution_id;
    r.metadata.provider = std::string(name());
    r.metadata.isolation = isolation();
    return r;
}

Expected<std::unique_ptr<PreparedSandbox>> Provider::prepare(const ExecutionContext& shape) {
    const std::string who = "provider '" + std::string(name()) + "'";
    std::optional<CancelSource> registered = enter();
    if (!registered) return fail(Failure::Kind::NotInitialized, who + " is not initialized");
    Expected<std::unique_ptr<PreparedSandbox>> out = [&]() -> Expected<std::unique_ptr<PreparedSandbox>> {
        if (auto refused_by = refusal(shape)) {
            return fail(Failure::Kind::Unsupported, who + ": " + refused_by->message);
        }
        return do_prepare(shape);
    }();
    leave();
    return out;
}

bool Provider::fits(const PreparedSandbox&, const ExecutionContext&) const {
    return false;
}

Expected<std::unique_ptr<PreparedSandbox>> Provider::do_prepare(const ExecutionContext&) {
    return fail(Failure::Kind::Unsupported,
                "provider '" + std::string(name()) + "' does not build sandboxes ahead");
}

ExecutionResult Provider::run_prepared(const ExecutionContext& ctx, const CancelToken& cancel,
                                       PreparedSandbox&) {
    return run(ctx, cancel);
}

}  // namespace microvm
