#include "service/request_body.hpp"

#include "microvm/security_level.hpp"

namespace microvm::service {

using nlohmann::json;

namespace {

ApiError bad(std::string message) { return ApiError{400, "bad_request", std::move(message)}; }

// The config keys of body, read by the settings file's reader.
ApiExpected<ConfigOverride> read_override(const json& body) {
    auto o = read_config_override(body);
    if (!o) return rtfs::Unexpected<ApiError>(bad(o.error().message));
    return *o;
}

ApiExpected<std::vector<std::string>> string_array(const json& body, const std::string& key) {
    std::vector<std::string> out;
    if (!body.contains(key)) return out;
    const json& v = body.at(key);
    if (!v.is_array()) return rtfs::Unexpected<ApiError>(bad(key + ": expected an array of strings"));
    for (const auto& e : v) {
        if (!e.is_string() || e.get<std::string>().empty())
            return rtfs::Unexpected<ApiError>(bad(key + ": expected an array of non-empty strings"));
        out.push_back(e.get<std::string>());
    }
    return out;
}

ApiExpected<Policy> finish(Policy p, const json& body, const ConfigOverride& o) {
    p.config = o.apply_to(p.config);
    if (auto valid = p.config.validate(); !valid) return rtfs::Unexpected<ApiError>(bad(valid.error().message));
    auto level = optional_string(body, "security_level");
    if (!level) return rtfs::Unexpected<ApiError>(level.error());
    auto caps = string_array(body, "capabilities");
    if (!caps) return rtfs::Unexpected<ApiError>(caps.error());
    if (*level || body.contains("capabilities")) {
        auto rc = runtime_context_for(*level, *caps, "security_level", "capabilities");
        if (!rc) return rtfs::Unexpected<ApiError>(bad(rc.error().message));
        p.runtime_context = *rc;
        p.capability_permissions = *caps;
    }
    for (const auto& [k, v] : body.items())
        if (policy_keys().count(k)) p.as_given[k] = v;
    return p;
}

}  // namespace

const std::set<std::string>& policy_keys() {
    static const std::set<std::string> keys = [] {
        std::set<std::string> k(config_override_keys().begin(), config_override_keys().end());
        k.insert({"security_level", "capabilities", "capability"});
        return k;
    }();
    return keys;
}

ApiExpected<json> parse_object(const std::string& text) {
    json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return api_fail(400, "bad_json", "the body is not valid JSON");
    if (!j.is_object()) return api_fail(400, "bad_request", "the body must be a JSON object");
    return j;
}

ApiExpected<void> check_keys(const json& body, const std::set<std::string>& allowed) {
    for (const auto& [k, v] : body.items()) {
        if (!allowed.count(k)) {
            std::string known;
            for (const auto& a : allowed) known += (known.empty() ? "" : ", ") + a;
            return api_fail(400, "bad_request", "unknown key '" + k + "' (known: " + known + ")");
        }
    }
    return rtfs::Ok{};
}

ApiExpected<bool> optional_bool(const json& body, const std::string& key) {
    if (!body.contains(key)) return false;
    if (!body.at(key).is_boolean()) return api_fail(400, "bad_request", key + ": expected true or false");
    return body.at(key).get<bool>();
}

ApiExpected<std::optional<std::string>> optional_string(const json& body, const std::string& key) {
    if (!body.contains(key)) return std::optional<std::string>{};
    if (!body.at(key).is_string()) return api_fail(400, "bad_request", key + ": expected a string");
    return std::optional<std::string>(body.at(key).get<std::string>());
}

ApiExpected<Policy> parse_policy(const json& body, const Settings& settings) {
    auto capability = optional_string(body, "capability");
    if (!capability) return rtfs::Unexpected<ApiError>(capability.error());
    Policy p;
    p.config = *capability ? config_for_capability(settings, **capability) : settings.default_config;
    p.capability_id = *capability;
    auto o = read_override(body);
    if (!o) return rtfs::Unexpected<ApiError>(o.error());
    return finish(std::move(p), body, *o);
}

ApiExpected<Policy> parse_policy_over(const json& body, const Policy& base) {
    Policy p = base;
    p.as_given = base.as_given;
    auto capability = optional_string(body, "capability");
    if (!capability) return rtfs::Unexpected<ApiError>(capability.error());
    // A capability's settings (its limits) are the session's, applied when it was made: an exec
    // naming another one ran under the session's limits, its own silently not applied (red
    // team, 2026-12-07).
    if (*capability && *capability != base.capability_id)
        return api_fail(400, "bad_request",
                        "capability: a session's execs run under the capability the session was made with (" +
                            (base.capability_id ? "'" + *base.capability_id + "'" : std::string("none")) +
                            "); give it when the sandbox is made");
    auto o = read_override(body);
    if (!o) return rtfs::Unexpected<ApiError>(o.error());
    return finish(std::move(p), body, *o);
}

ExecutionContext execution_context(const Program& program, const Policy& policy) {
    ExecutionContext ctx;
    ctx.program = program;
    ctx.config = policy.config;
    ctx.runtime_context = policy.runtime_context;
    ctx.capability_permissions = policy.capability_permissions;
    ctx.capability_id = policy.capability_id;
    return ctx;
}

ApiExpected<ProgramRequest> parse_program(const json& body) {
    const bool has_eval = body.contains("eval"), has_run = body.contains("run");
    if (has_eval == has_run)
        return api_fail(400, "bad_request", "give exactly one of 'eval' (RTFS source) and 'run' (argv array)");
    ProgramRequest out;
    if (has_eval) {
        if (!body.at("eval").is_string()) return api_fail(400, "bad_request", "eval: expected a string of RTFS source");
        std::string src = body.at("eval").get<std::string>();
        out.digest_input = "eval\n" + src;
        out.program = RtfsSource{std::move(src)};
        out.is_eval = true;
        return out;
    }
    const json& run = body.at("run");
    if (!run.is_array() || run.empty())
        return api_fail(400, "bad_request", "run: expected a non-empty array of strings (program and arguments)");
    std::vector<std::string> argv;
    for (const auto& a : run) {
        if (!a.is_string()) return api_fail(400, "bad_request", "run: every element must be a string");
        argv.push_back(a.get<std::string>());
    }
    if (argv[0].empty()) return api_fail(400, "bad_request", "run: the program is empty");
    out.digest_input = "run";
    for (const auto& a : argv) out.digest_input += std::string(1, '\0') + a;
    out.program = ExternalProgram{argv[0], {argv.begin() + 1, argv.end()}};
    return out;
}

}  // namespace microvm::service
