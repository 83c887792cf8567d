// MicroVMConfig::validate: the range checks shared by every provider.
#include <gtest/gtest.h>

#include <cmath>

#include "microvm/config.hpp"

namespace microvm {
namespace {

std::string invalid(const MicroVMConfig& c) {
    auto v = c.validate();
    EXPECT_FALSE(v.has_value());
    if (v) return {};
    EXPECT_EQ(v.error().kind, Failure::Kind::InvalidConfig);
    return v.error().message;
}

TEST(ConfigValidate, Timeout) {
    MicroVMConfig c;
    c.timeout = std::chrono::milliseconds(0);
    EXPECT_NE(invalid(c).find("timeout"), std::string::npos);
    c.timeout = std::chrono::milliseconds(-5);
    EXPECT_NE(invalid(c).find("timeout"), std::string::npos);
    c.timeout = std::chrono::hours(25);
    EXPECT_NE(invalid(c).find("24h"), std::string::npos);
    c.timeout = std::chrono::hours(24);
    EXPECT_TRUE(c.validate().has_value());
}

TEST(ConfigValidate, Limits) {
    MicroVMConfig c;
    c.memory_limit_mb = 0;
    EXPECT_NE(invalid(c).find("memory_limit_mb"), std::string::npos);
    c = {};
    for (double bad : {0.0, -1.0, 1025.0, std::nan(""), double(INFINITY)}) {
        c.cpu_limit = bad;
        EXPECT_NE(invalid(c).find("cpu_limit"), std::string::npos) << bad;
    }
    c.cpu_limit = 0.25;
    EXPECT_TRUE(c.validate().has_value());
    c.max_output_bytes = 0;
    EXPECT_NE(invalid(c).find("max_output_bytes"), std::string::npos);
    c = {};
    c.max_processes = 0;
    EXPECT_NE(invalid(c).find("max_processes"), std::string::npos);
}

TEST(ConfigValidate, EnvNames) {
    MicroVMConfig c;
    c.env_vars = {{"LANG", "C.UTF-8"}, {"EMPTY_OK", ""}};
    EXPECT_TRUE(c.validate().has_value());
    c.env_vars = {{"", "x"}};
    EXPECT_NE(invalid(c).find("empty variable name"), std::string::npos);
    c.env_vars = {{"A=B", "x"}};
    EXPECT_NE(invalid(c).find("A=B"), std::string::npos);
    c.env_vars = {{std::string("A\0B", 3), "x"}};
    EXPECT_NE(invalid(c).find("env_vars"), std::string::npos);
    c.env_vars = {{"A", std::string("x\0y", 3)}};
    EXPECT_NE(invalid(c).find("NUL"), std::string::npos);
}

TEST(ConfigValidate, PoliciesBuiltInCode) {
    MicroVMConfig c;
    c.network_policy = NetworkPolicy::allow({});
    EXPECT_NE(invalid(c).find("network_policy"), std::string::npos);
    c.network_policy = NetworkPolicy::allow({"bad host"});
    EXPECT_NE(invalid(c).find("network_policy"), std::string::npos);
    c.network_policy = NetworkPolicy::allow({"ok.com"});
    c.fs_policy = FileSystemPolicy::read_write({});
    EXPECT_NE(invalid(c).find("fs_policy"), std::string::npos);
    c.fs_policy = FileSystemPolicy::read_only({"relative"});
    EXPECT_NE(invalid(c).find("fs_policy"), std::string::npos);
    c.fs_policy = FileSystemPolicy::read_only();
    EXPECT_TRUE(c.validate().has_value());
}

TEST(ConfigValidate, ReportsEveryProblem) {
    MicroVMConfig c;
    c.memory_limit_mb = 0;
    c.max_processes = 0;
    std::string msg = invalid(c);
    EXPECT_NE(msg.find("memory_limit_mb"), std::string::npos);
    EXPECT_NE(msg.find("max_processes"), std::string::npos);
}

}  // namespace
}  // namespace microvm
