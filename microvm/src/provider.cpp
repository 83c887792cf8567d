// The rules every provider follows, implemented once: lifecycle, config validation, the
// capability boundary and the up-front refusal of what a provider cannot enforce.
#include "microvm/provider.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#include "json_schema.hpp"
#include "text_util.hpp"

namespace microvm {
namespace {

std::string new_execution_id() {
    std::random_device rd;
    uint64_t bits = (uint64_t{rd()} << 32) | rd();
    char buf[24];
    std::snprintf(buf, sizeof buf, "exec-%016llx", static_cast<unsigned long long>(bits));
    return buf;
}

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

nlohmann::json Provider::config_schema() const {
    return {{"type", "object"},
            {"properties", nlohmann::json::object()},
            {"additionalProperties", false}};
}

// Callers serialise initialize() and cleanup() of one instance (ProviderFactory holds its lock).
Expected<void> Provider::initialize(const nlohmann::json& settings) {
    if (initialized_.load()) return Ok{};
    const std::string who = "provider '" + std::string(name()) + "'";
    Availability a = availability();
    if (!a.available) {
        return fail(Failure::Kind::ProviderUnavailable, who + " is unavailable: " + a.reason);
    }
    if (auto valid = validate_json_schema(settings, config_schema()); !valid) {
        return fail(Failure::Kind::InvalidConfig,
                    "settings of " + who + ": " + valid.error().message);
    }
    RTFS_CHECK(do_initialize(settings));
    initialized_.store(true);
    return Ok{};
}

void Provider::cleanup() {
    if (initialized_.exchange(false)) do_cleanup();
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

ExecutionResult Provider::make_result(const ExecutionContext& ctx, Status status,
                                      std::string error_kind, std::string message) const {
    ExecutionResult r;
    r.execution_id = ctx.execution_id;
    r.status = status;
    if (status != Status::Ok || !error_kind.empty() || !message.empty()) {
        r.error = ExecutionError{std::move(error_kind), std::move(message)};
    }
    r.metadata.provider = std::string(name());
    r.metadata.isolation = isolation();
    return r;
}

ExecutionResult Provider::execute_program(const ExecutionContext& given) {
    const auto started = std::chrono::steady_clock::now();
    // Every execution has an id (providers name cgroups and temp dirs after it).
    std::optional<ExecutionContext> with_id;
    if (given.execution_id.empty()) {
        with_id = given;
        with_id->execution_id = new_execution_id();
    }
    const ExecutionContext& ctx = with_id ? *with_id : given;
    const std::string who = "provider '" + std::string(name()) + "'";

    ExecutionResult r;
    bool refused = true;
    if (!initialized()) {
        r = make_result(ctx, Status::Unavailable, "not_initialized",
                        who + " is not initialized; call initialize first");
    } else if (auto valid = ctx.config.validate(); !valid) {
        r = make_result(ctx, Status::InvalidInput, "invalid_config", valid.error().message);
    } else if (!ctx.program) {
        r = make_result(ctx, Status::InvalidInput, "missing_program", "no program to run");
    } else if (ctx.capability_id &&
               std::find(ctx.capability_permissions.begin(), ctx.capability_permissions.end(),
                         *ctx.capability_id) == ctx.capability_permissions.end()) {
        r = make_result(ctx, Status::PolicyViolation, "SecurityViolation",
                        "capability '" + *ctx.capability_id + "' is not permitted (permitted: " +
                            (ctx.capability_permissions.empty()
                                 ? std::string("none")
                                 : text::join(ctx.capability_permissions, ", ")) +
                            ")");
    } else if (auto problems = check(ctx); !problems.empty()) {
        r = make_result(ctx, Status::PolicyViolation, "unsupported", describe(*this, problems));
    } else {
        refused = false;
        r = run(ctx);
    }
    if (refused) r.metadata.duration = std::chrono::steady_clock::now() - started;
    r.execution_id = ctx.execution_id;
    r.metadata.provider = std::string(name());
    r.metadata.isolation = isolation();
    return r;
}

}  // namespace microvm
