// microvmd's request bodies on arbitrary bytes, decoded as Service::prepare_execution and
// prepare_session_exec decode them (no sockets, no execution): the JSON object, its keys, the
// program and the policy over the settings (a capability of its own among them), then the same
// body again over the policy it gave, as an exec in that session would. Each returns a value or
// a 400 naming the fault (never the internal TOML's line), never a crash, a hang or an exception;
// an accepted policy passes MicroVMConfig::validate() and holds the values as the client gave them.
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "microvm/settings.hpp"
#include "service/request_body.hpp"

namespace {

const microvm::Settings& settings() {
    static const microvm::Settings s = [] {
        microvm::Settings out;
        microvm::ConfigOverride cap;
        cap.memory_limit_mb = 64;
        cap.fs_policy = microvm::FileSystemPolicy::none();
        out.capability_configs["fuzz.cap"] = cap;
        return out;
    }();
    return s;
}

// What the client wrote, arrived unchanged: the string forms read directly agree with the policy
// read through the settings reader (read_config_override), and env_vars keep every byte.
void same_as_given(const nlohmann::json& body, const microvm::MicroVMConfig& c) {
    using namespace microvm;
    auto given = [&](const char* key) -> const nlohmann::json* {
        auto it = body.find(key);
        return it != body.end() && it->is_string() ? &*it : nullptr;
    };
    if (const auto* t = given("timeout")) {
        auto d = parse_duration(t->get<std::string>());
        if (!d || *d != c.timeout) __builtin_trap();
    }
    if (const auto* n = given("network_policy")) {
        auto p = NetworkPolicy::parse(n->get<std::string>());
        if (!p || *p != c.network_policy) __builtin_trap();
    }
    if (const auto* f = given("fs_policy")) {
        auto p = FileSystemPolicy::parse(f->get<std::string>());
        if (!p || *p != c.fs_policy) __builtin_trap();
    }
    if (auto env = body.find("env_vars"); env != body.end()) {
        if (c.env_vars != env->get<std::map<std::string, std::string>>()) __builtin_trap();
    }
}

template <class T>
bool refused(const microvm::service::ApiExpected<T>& r) {
    if (r) return false;
    if (r.error().http_status != 400 || r.error().message.empty())
        __builtin_trap();  // a 400 saying why
    // An error names the client's key, never a line of text the client never wrote (the keys
    // travelled as TOML text until 2026-12-05, whose "request:LINE" errors this guards against).
    if (r.error().message.starts_with("request:")) __builtin_trap();
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace microvm::service;
    auto body = parse_object(std::string(reinterpret_cast<const char*>(data), size));
    if (refused(body)) return 0;
    std::set<std::string> allowed = policy_keys();
    allowed.insert({"provider", "eval", "run", "stream"});
    if (refused(check_keys(*body, allowed))) return 0;
    if (refused(optional_string(*body, "provider")) || refused(optional_bool(*body, "stream")))
        return 0;
    auto program = parse_program(*body);
    auto policy = parse_policy(*body, settings());
    if (refused(policy)) return 0;
    if (!policy->config.validate()) __builtin_trap();
    same_as_given(*body, policy->config);
    if (!refused(program)) (void)execution_context(program->program, *policy);
    if (body->contains("fs_policy")) return 0;  // a session's exec keeps the session's
    auto again = parse_policy_over(*body, *policy);
    if (!refused(again) && !again->config.validate()) __builtin_trap();
    return 0;
}
