// The JSON bodies of the API, read strictly: unknown keys, wrong types and bad values are 400s
// naming the key. The policy keys are the settings file's names with the settings file's forms
// (timeout "2s", network_policy "deny" | { allow = [...] }, ...), read by the settings reader
// itself so that the two can never disagree.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "microvm/config.hpp"
#include "microvm/context.hpp"
#include "microvm/program.hpp"
#include "microvm/settings.hpp"
#include "rtfs/security.hpp"
#include "service/api_error.hpp"

namespace microvm::service {

// What an execution may do, resolved against the daemon's settings.
struct Policy {
    MicroVMConfig config;
    rtfs::RuntimeContext runtime_context = rtfs::RuntimeContext::pure();
    std::vector<std::string> capability_permissions;
    std::optional<std::string> capability_id;
    nlohmann::json as_given = nlohmann::json::object();  // the policy keys of the request
};

// The policy keys of a body (the settings names plus security_level, capabilities and
// capability) over the base: the capability's settings when one is named, else default_config.
ApiExpected<Policy> parse_policy(const nlohmann::json& body, const Settings& settings);
// The same keys over a session's policy (an exec in a session may tighten or change them), but
// for `capability`, which may only name the session's own (its settings were applied then).
ApiExpected<Policy> parse_policy_over(const nlohmann::json& body, const Policy& base);

struct ProgramRequest {
    Program program;
    bool is_eval = false;
    std::string digest_input;  // the bytes the audit digest covers
};
// The execution context of program under policy (no id, cancel token or output sink yet).
ExecutionContext execution_context(const Program& program, const Policy& policy);

// Exactly one of "eval" (RTFS source) and "run" (a non-empty argv array of strings).
ApiExpected<ProgramRequest> parse_program(const nlohmann::json& body);

// The body as a JSON object, or a 400 naming what is wrong.
ApiExpected<nlohmann::json> parse_object(const std::string& text);
// A 400 for the first key of body not in allowed.
ApiExpected<void> check_keys(const nlohmann::json& body, const std::set<std::string>& allowed);
// An optional boolean key.
ApiExpected<bool> optional_bool(const nlohmann::json& body, const std::string& key);
// An optional string key (nullopt when absent).
ApiExpected<std::optional<std::string>> optional_string(const nlohmann::json& body,
                                                        const std::string& key);

// The names of the policy keys.
const std::set<std::string>& policy_keys();

}  // namespace microvm::service
