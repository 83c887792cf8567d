// The JSON bodies: strict keys, the settings file's names and forms, clear 400s.
#include <gtest/gtest.h>

#include "service/request_body.hpp"

using namespace microvm;
using namespace microvm::service;
using nlohmann::json;

TEST(RequestBody, PolicyKeysUseTheSettingsFormsOverTheDefaults) {
    Settings s;
    auto p = parse_policy(json{{"timeout", "2s"}, {"memory_limit_mb", 64}, {"cpu_limit", 0.5},
                               {"network_policy", {{"allow", {"example.com"}}}},
                               {"fs_policy", "ro"}, {"env_vars", {{"A", "1"}}}},
                          s);
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->config.timeout, std::chrono::milliseconds(2000));
    EXPECT_EQ(p->config.memory_limit_mb, 64u);
    EXPECT_DOUBLE_EQ(p->config.cpu_limit, 0.5);
    EXPECT_EQ(p->config.network_policy.kind, NetworkPolicy::Kind::AllowList);
    EXPECT_EQ(p->config.fs_policy.kind, FileSystemPolicy::Kind::ReadOnly);
    EXPECT_EQ(p->config.env_vars.at("A"), "1");
    // Unset keys keep the daemon's defaults.
    EXPECT_EQ(p->config.max_output_bytes, s.default_config.max_output_bytes);
}

TEST(RequestBody, BadPolicyValuesNameTheKey) {
    Settings s;
    for (const auto& [body, key] : std::vector<std::pair<json, std::string>>{
             {{{"timeout", 5}}, "timeout"},
             {{{"timeout", "-1s"}}, "timeout"},
             {{{"memory_limit_mb", 0}}, "memory_limit_mb"},
             {{{"memory_limit_mb", "lots"}}, "memory_limit_mb"},
             {{{"cpu_limit", -1}}, "cpu_limit"},
             {{{"network_policy", "sometimes"}}, "network_policy"},
             {{{"fs_policy", {{"read_write", json::array()}}}}, "fs_policy"},
             {{{"env_vars", {{"A", 1}}}}, "env_vars"},
             {{{"env_vars", nullptr}}, "env_vars"},
             {{{"memory_limit_mb", 18446744073709551615ull}}, "memory_limit_mb"},
             {{{"security_level", "godmode"}}, "security_level"},
             {{{"capabilities", "net"}}, "capabilities"}}) {
        auto p = parse_policy(body, s);
        ASSERT_FALSE(p) << body.dump();
        EXPECT_EQ(p.error().http_status, 400);
        EXPECT_NE(p.error().message.find(key), std::string::npos) << p.error().message;
        EXPECT_EQ(p.error().message.find("capability_configs"), std::string::npos) << p.error().message;
    }
}

TEST(RequestBody, DeepNestingIsRefusedWithoutRecursion) {
    std::string deep(200000, '[');
    deep += std::string(200000, ']');
    auto j = parse_object("{\"env_vars\": " + deep + "}");
    if (!j) {
        EXPECT_EQ(j.error().http_status, 400);
        return;
    }
    auto p = parse_policy(*j, Settings{});
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().http_status, 400);
}

TEST(RequestBody, SecurityLevelAndCapabilities) {
    auto p = parse_policy(json{{"capabilities", {"ccos.io.log"}}}, Settings{});
    ASSERT_TRUE(p);
    EXPECT_EQ(p->capability_permissions, std::vector<std::string>{"ccos.io.log"});
    auto pure = parse_policy(json{{"security_level", "pure"}, {"capabilities", {"x"}}}, Settings{});
    ASSERT_FALSE(pure);
    EXPECT_NE(pure.error().message.find("capabilities cannot be combined with security_level pure"), std::string::npos);
}

// A session's execs run under the capability the session was made with: an exec naming another
// ran under the session's limits, the named one's silently not applied (red team, 2026-12-07).
TEST(RequestBody, ASessionsExecCannotNameAnotherCapability) {
    Settings settings;
    settings.capability_configs["restricted"].timeout = std::chrono::milliseconds(1000);
    auto session = parse_policy(json{{"capability", "restricted"}}, settings);
    ASSERT_TRUE(session);
    EXPECT_EQ(session->config.timeout, std::chrono::milliseconds(1000));
    auto same = parse_policy_over(json{{"capability", "restricted"}}, *session);
    ASSERT_TRUE(same) << same.error().message;
    EXPECT_EQ(same->config.timeout, std::chrono::milliseconds(1000));
    auto other = parse_policy_over(json{{"capability", "other"}}, *session);
    ASSERT_FALSE(other);
    EXPECT_EQ(other.error().http_status, 400);
    EXPECT_NE(other.error().message.find("the capability the session was made with ('restricted')"), std::string::npos)
        << other.error().message;
    auto plain = parse_policy(json::object(), settings);
    ASSERT_TRUE(plain);
    auto named = parse_policy_over(json{{"capability", "restricted"}}, *plain);
    ASSERT_FALSE(named) << "a session made without a capability ran an exec under one it never applied";
    EXPECT_NE(named.error().message.find("(none)"), std::string::npos) << named.error().message;
}

TEST(RequestBody, ProgramIsExactlyOneOfEvalAndRun) {
    EXPECT_FALSE(parse_program(json::object()));
    EXPECT_FALSE(parse_program(json{{"eval", "1"}, {"run", {"/bin/true"}}}));
    EXPECT_FALSE(parse_program(json{{"run", json::array()}}));
    EXPECT_FALSE(parse_program(json{{"run", {"/bin/echo", 3}}}));
    EXPECT_FALSE(parse_program(json{{"eval", 42}}));
    auto e = parse_program(json{{"eval", "(+ 1 2)"}});
    ASSERT_TRUE(e);
    EXPECT_TRUE(e->is_eval);
    auto r = parse_program(json{{"run", {"/bin/echo", "a b"}}});
    ASSERT_TRUE(r);
    EXPECT_EQ(std::get<ExternalProgram>(r->program).args, std::vector<std::string>{"a b"});
    // Different argv splits are different programs to the audit digest.
    auto r2 = parse_program(json{{"run", {"/bin/echo", "a", "b"}}});
    EXPECT_NE(r->digest_input, r2->digest_input);
}

TEST(RequestBody, UnknownKeysAndNonObjects) {
    EXPECT_EQ(parse_object("[1,2]").error().http_status, 400);
    EXPECT_EQ(parse_object("{\"a\":").error().code, "bad_json");
    EXPECT_EQ(parse_object("").error().code, "bad_json");
    auto k = check_keys(json{{"timeoutt", "1s"}}, policy_keys());
    ASSERT_FALSE(k);
    EXPECT_NE(k.error().message.find("timeoutt"), std::string::npos);
}

// The policy keys reach the settings reader as TOML text; toml++ printed a string with a newline
// as a multi-line string, whose first newline TOML drops, so "\nX" arrived as "X".
TEST(RequestBody, StringValuesKeepEveryByteThroughTheSettingsReader) {
    for (const std::string value : {"\nX", "\r\nX", "\n", "a\nb\n", "'''\n\"\"\"", "\\\n  b", "\t\x7f\x01"}) {
        auto p = parse_policy(json{{"env_vars", {{"V", value}}}}, Settings{});
        ASSERT_TRUE(p) << p.error().message;
        EXPECT_EQ(p->config.env_vars.at("V"), value) << json(value).dump();
    }
}

// toml++ printed a key of bare characters with a quote, tab or newline in it unquoted: "\tA" read
// back as "A", "it's" did not read back at all ("request:2: syntax error", found by the fuzzer in
// {"fs_policy": {"read_only": ["/usr"], "rea'_writnly": ["t/mx"]}}).
TEST(RequestBody, KeysKeepEveryByteAndErrorsNameThem) {
    const std::map<std::string, std::string> env = {{"\tA", "1"}, {"B\n", "2"}, {"it's", "3"}};
    auto p = parse_policy(json{{"env_vars", env}}, Settings{});
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->config.env_vars, env);
    auto bad_key = parse_policy(json{{"fs_policy", {{"read_only", {"/usr"}}, {"rea'_writnly", {"/tmp"}}}}}, Settings{});
    ASSERT_FALSE(bad_key);
    EXPECT_EQ(bad_key.error().message.rfind("fs_policy.\"rea'_writnly\": unknown key", 0), 0u) << bad_key.error().message;
}
