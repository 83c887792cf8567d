#include "service/openapi.hpp"

namespace microvm::service {

using nlohmann::ordered_json;

namespace {

ordered_json ref(const std::string& name) { return {{"$ref", "#/components/schemas/" + name}}; }

ordered_json json_content(const ordered_json& schema) {
    return {{"application/json", {{"schema", schema}}}};
}

ordered_json response(const std::string& description, const ordered_json& schema) {
    return {{"description", description}, {"content", json_content(schema)}};
}

ordered_json errors(std::initializer_list<int> codes) {
    ordered_json out = ordered_json::object();
    for (int c : codes) out[std::to_string(c)] = response("Error", ref("Error"));
    return out;
}

ordered_json merge(ordered_json a, const ordered_json& b) {
    for (const auto& [k, v] : b.items()) a[k] = v;
    return a;
}

ordered_json path_param(const std::string& name, const std::string& description) {
    return {{"name", name}, {"in", "path"}, {"required", true}, {"description", description},
            {"schema", {{"type", "string"}}}};
}

ordered_json policy_properties() {
    return {
        {"timeout", {{"type", "string"}, {"example", "30s"}, {"description", "Wall-clock limit (settings-file form)"}}},
        {"memory_limit_mb", {{"type", "integer"}, {"minimum", 1}}},
        {"cpu_limit", {{"type", "number"}, {"description", "1.0 = one core"}}},
        {"network_policy", {{"description", "\"denied\" | \"full\" | \"allow=HOST,...\" | {\"allow\": [HOST...]} | {\"deny\": [HOST...]}"}}},
        {"fs_policy", {{"description", "\"none\" | \"ro\" | \"rw=PATH\" | \"full\" | {\"read_only\": [...], \"read_write\": [...]}"}}},
        {"env_vars", {{"type", "object"}, {"additionalProperties", {{"type", "string"}}}}},
        {"max_output_bytes", {{"type", "integer"}, {"minimum", 1}}},
        {"max_processes", {{"type", "integer"}, {"minimum", 1}}},
        {"security_level", {{"type", "string"}, {"enum", {"pure", "controlled", "full"}}}},
        {"capabilities", {{"type", "array"}, {"items", {{"type", "string"}}}}},
        {"capability", {{"type", "string"}, {"description", "Run as this capability (its settings apply)"}}},
    };
}

ordered_json program_properties() {
    return {
        {"eval", {{"type", "string"}, {"description", "RTFS source (exactly one of eval and run)"}}},
        {"run", {{"type", "array"}, {"items", {{"type", "string"}}}, {"minItems", 1}, {"description", "Program and arguments"}}},
        {"stream", {{"type", "boolean"}, {"description", "Answer with NDJSON events: output chunks as they happen, then the result"}}},
    };
}

ordered_json execution_responses() {
    return merge({{"200", {{"description", "The execution's result document (as `microvm --json`), or with stream=true NDJSON events"},
                           {"content", {{"application/json", {{"schema", ref("ExecutionResult")}}},
                                        {"application/x-ndjson", {{"schema", ref("StreamEvent")}}}}}}}},
                 errors({400, 401, 404, 413, 429}));
}

}  // namespace

ordered_json openapi_document() {
    ordered_json schemas = ordered_json::object();
    ordered_json error_body = {{"type", "object"},
                               {"properties", {{"code", {{"type", "string"}}}, {"message", {{"type", "string"}}}}}};
    schemas["Error"] = {{"type", "object"}, {"required", {"error"}}, {"properties", {{"error", error_body}}}};
    schemas["Policy"] = {{"type", "object"}, {"additionalProperties", false}, {"properties", policy_properties()}};
    ordered_json provider_prop = {{"provider", {{"type", "string"}}}};
    schemas["ExecutionRequest"] = {{"type", "object"}, {"additionalProperties", false},
                                   {"properties", merge(merge(provider_prop, program_properties()), policy_properties())}};
    schemas["SandboxRequest"] = {{"type", "object"}, {"additionalProperties", false},
                                 {"properties", merge(provider_prop, policy_properties())}};
    ordered_json exec_policy = policy_properties();
    exec_policy.erase("fs_policy");
    schemas["SandboxExecRequest"] = {{"type", "object"}, {"additionalProperties", false},
                                     {"properties", merge(program_properties(), exec_policy)}};
    schemas["Sandbox"] = {{"type", "object"},
                          {"properties", {{"id", {{"type", "string"}}},
                                          {"provider", {{"type", "string"}}},
                                          {"work_dir", {{"type", "string"}}},
                                          {"disk_limit_bytes", {{"type", "integer"},
                                                                {"description", "the work directory's size (0: no quota)"}}},
                                          {"idle_timeout_s", {{"type", "integer"}}},
                                          {"max_lifetime_s", {{"type", "integer"}}}}}};
    ordered_json statuses = {"ok", "runtime_error", "timeout", "memory_exceeded", "killed",
                             "policy_violation", "invalid_input", "setup_error", "unavailable"};
    ordered_json result_props = ordered_json::object();
    result_props["execution_id"] = {{"type", "string"}};
    result_props["provider"] = {{"type", "string"}};
    result_props["status"] = {{"type", "string"}, {"enum", statuses}};
    result_props["value"] = {{"type", "string"}, {"nullable", true}};
    result_props["exit_code"] = {{"type", "integer"}, {"nullable", true}};
    result_props["signal"] = {{"type", "integer"}, {"nullable", true}};
    result_props["stdout"] = {{"type", "string"}};
    result_props["stderr"] = {{"type", "string"}};
    result_props["stdout_truncated"] = {{"type", "boolean"}};
    result_props["stderr_truncated"] = {{"type", "boolean"}};
    result_props["error"] = {{"type", "object"}, {"nullable", true}};
    result_props["metadata"] = {{"type", "object"}};
    ordered_json required = ordered_json::array();
    for (const auto& [k, v] : result_props.items()) required.push_back(k);
    schemas["ExecutionResult"] = {{"type", "object"},
                                  {"description", "The result document of `microvm --json` (spec section 4)"},
                                  {"required", required},
                                  {"properties", result_props}};
    ordered_json event_props = ordered_json::object();
    event_props["event"] = {{"type", "string"}, {"enum", {"stdout", "stderr", "stream_cut", "result"}}};
    event_props["data"] = {{"type", "string"}};
    event_props["base64"] = {{"type", "string"},
                             {"description", "stdout/stderr only, when the chunk is not UTF-8: its exact bytes (data has "
                                             "U+FFFD for the bad ones)"}};
    event_props["bytes"] = {{"type", "integer"}};
    event_props["result"] = ref("ExecutionResult");
    schemas["StreamEvent"] = {{"type", "object"},
                              {"description", "One NDJSON line: {\"event\":\"stdout\"|\"stderr\",\"data\":TEXT} as output happens, "
                                              "then {\"event\":\"result\",\"result\":ExecutionResult}; past the deadline, with 8 MiB "
                                              "of lines queued for a slow reader, {\"event\":\"stream_cut\",\"bytes\":N} ends the output "
                                              "events (the result holds the whole output)"},
                              {"properties", event_props}};
    schemas["Provider"] = {{"type", "object"},
                           {"properties", {{"name", {{"type", "string"}}},
                                           {"available", {{"type", "boolean"}}},
                                           {"isolation", {{"type", "string"}}},
                                           {"runs", {{"type", "string"}}},
                                           {"reason", {{"type", "string"}}}}}};
    ordered_json paths = {
        {"/healthz", {{"get", {{"summary", "Liveness"}, {"security", ordered_json::array()}, {"responses", {{"200", response("Alive", {{"type", "object"}})}}}}}}},
        {"/metrics", {{"get", {{"summary", "Prometheus metrics"}, {"responses", merge({{"200", {{"description", "Prometheus text format 0.0.4"}, {"content", {{"text/plain", {{"schema", {{"type", "string"}}}}}}}}}}, errors({401}))}}}}},
        {"/v1/openapi.json", {{"get", {{"summary", "This document"}, {"security", ordered_json::array()}, {"responses", {{"200", response("OpenAPI 3", {{"type", "object"}})}}}}}}},
        {"/v1/providers", {{"get", {{"summary", "Providers and their availability"},
                                    {"responses", merge({{"200", response("Providers", {{"type", "object"}, {"properties", {{"providers", {{"type", "array"}, {"items", ref("Provider")}}}}}})}}, errors({401}))}}}}},
        {"/v1/executions", {{"post", {{"summary", "Run one program in a fresh sandbox"},
                                      {"requestBody", {{"required", true}, {"content", json_content(ref("ExecutionRequest"))}}},
                                      {"responses", execution_responses()}}}}},
        {"/v1/sandboxes", {{"post", {{"summary", "Create a session (stateful sandbox) with a private work directory"},
                                     {"requestBody", {{"required", true}, {"content", json_content(ref("SandboxRequest"))}}},
                                     {"responses", merge({{"201", response("Created", ref("Sandbox"))}}, errors({400, 401, 413, 429, 503}))}}}}},
        {"/v1/sandboxes/{id}", {{"delete", {{"summary", "End a session and remove its work directory"},
                                            {"parameters", {path_param("id", "Sandbox id")}},
                                            {"responses", merge({{"200", response("Deleted", {{"type", "object"}})}}, errors({401, 404}))}}}}},
        {"/v1/sandboxes/{id}/exec", {{"post", {{"summary", "Run a program in the session (its work directory bound read-write)"},
                                               {"parameters", {path_param("id", "Sandbox id")}},
                                               {"requestBody", {{"required", true}, {"content", json_content(ref("SandboxExecRequest"))}}},
                                               {"responses", execution_responses()}}}}},
        {"/v1/sandboxes/{id}/files/{path}", {
            {"put", {{"summary", "Upload a file into the work directory (parents created)"},
                     {"parameters", {path_param("id", "Sandbox id"), path_param("path", "Path relative to the work directory; may contain '/'")}},
                     {"requestBody", {{"required", true}, {"content", {{"application/octet-stream", {{"schema", {{"type", "string"}, {"format", "binary"}}}}}}}}},
                     {"responses", merge({{"200", response("Written", {{"type", "object"}})}}, errors({400, 401, 403, 404, 413, 429, 503}))}}},
            {"get", {{"summary", "Download a file from the work directory"},
                     {"parameters", {path_param("id", "Sandbox id"), path_param("path", "Path relative to the work directory")}},
                     {"responses", merge({{"200", {{"description", "The file"}, {"content", {{"application/octet-stream", {{"schema", {{"type", "string"}, {"format", "binary"}}}}}}}}}},
                                         errors({400, 401, 403, 404, 413}))}}}}},
    };
    return {
        {"openapi", "3.0.3"},
        {"info", {{"title", "microvmd"}, {"version", "1"},
                  {"description", "The microvm execution service: programs in isolation providers under an enforced policy."}}},
        {"paths", paths},
        {"components", {{"schemas", schemas},
                        {"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"},
                                                         {"description", "Required on TCP listeners; Unix-socket clients are identified by SO_PEERCRED"}}}}}}},
        {"security", {{{"bearer", ordered_json::array()}}}},
    };
}

}  // namespace microvm::service
