// The model's defaults and names are those of the spec (sections 1 and 4).
#include <gtest/gtest.h>

#include "microvm/config.hpp"
#include "microvm/context.hpp"
#include "microvm/error.hpp"
#include "microvm/result.hpp"

namespace microvm {
namespace {

TEST(Model, ConfigDefaultsAreTheSpecs) {
    MicroVMConfig c;
    EXPECT_EQ(c.timeout, std::chrono::seconds(30));
    EXPECT_EQ(c.memory_limit_mb, 512u);
    EXPECT_DOUBLE_EQ(c.cpu_limit, 1.0);
    EXPECT_EQ(c.network_policy.kind, NetworkPolicy::Kind::Denied);
    EXPECT_EQ(c.fs_policy.kind, FileSystemPolicy::Kind::None);
    EXPECT_TRUE(c.env_vars.empty());
    EXPECT_EQ(c.max_output_bytes, 1u << 20);
    EXPECT_EQ(c.max_processes, 256u);
    EXPECT_TRUE(c.validate().has_value());
}

TEST(Model, ContextDefaultsArePure) {
    ExecutionContext ctx;
    EXPECT_FALSE(ctx.program.has_value());
    EXPECT_FALSE(ctx.capability_id.has_value());
    EXPECT_FALSE(ctx.runtime_context.has_value());
    EXPECT_EQ(ctx.config, MicroVMConfig{});
}

TEST(Model, StatusNamesMatchTheJsonOutput) {
    EXPECT_STREQ(to_string(Status::Ok), "ok");
    EXPECT_STREQ(to_string(Status::RuntimeError), "runtime_error");
    EXPECT_STREQ(to_string(Status::Timeout), "timeout");
    EXPECT_STREQ(to_string(Status::MemoryExceeded), "memory_exceeded");
    EXPECT_STREQ(to_string(Status::Killed), "killed");
    EXPECT_STREQ(to_string(Status::PolicyViolation), "policy_violation");
    EXPECT_STREQ(to_string(Status::InvalidInput), "invalid_input");
    EXPECT_STREQ(to_string(Status::SetupError), "setup_error");
    EXPECT_STREQ(to_string(Status::Unavailable), "unavailable");
}

TEST(Model, IsolationAndProgramKindNames) {
    EXPECT_STREQ(to_string(Isolation::None), "none");
    EXPECT_STREQ(to_string(Isolation::Process), "process");
    EXPECT_STREQ(to_string(Isolation::Container), "container");
    EXPECT_STREQ(to_string(Isolation::VM), "vm");
    EXPECT_STREQ(to_string(Isolation::Wasm), "wasm");
    EXPECT_STREQ(to_string(ProgramKind::Rtfs), "rtfs");
    EXPECT_STREQ(to_string(ProgramKind::External), "external");
    EXPECT_STREQ(to_string(ProgramKind::Wasm), "wasm");
    EXPECT_STREQ(to_string(ProgramKind::Script), "script");
    EXPECT_STREQ(to_string(ProgramKind::Native), "native");
}

TEST(Model, KindOfFollowsTheVariant) {
    EXPECT_EQ(kind_of(Program{RtfsSource{"(+ 1 2)"}}), ProgramKind::Rtfs);
    EXPECT_EQ(kind_of(Program{ExternalProgram{"/bin/true", {}}}), ProgramKind::External);
    EXPECT_EQ(kind_of(Program{WasmModule{}}), ProgramKind::Wasm);
    EXPECT_EQ(kind_of(Program{ScriptSource{"sh", "true"}}), ProgramKind::Script);
    EXPECT_EQ(kind_of(Program{NativeFunction{}}), ProgramKind::Native);
}

TEST(Model, FailureKindNames) {
    EXPECT_STREQ(to_string(Failure::Kind::UnknownProvider), "unknown_provider");
    EXPECT_STREQ(to_string(Failure::Kind::NotInitialized), "not_initialized");
    EXPECT_STREQ(to_string(Failure::Kind::InvalidConfig), "invalid_config");
}

TEST(Model, ResultDefaults) {
    ExecutionResult r;
    EXPECT_TRUE(r.ok());
    EXPECT_FALSE(r.value.has_value());
    EXPECT_FALSE(r.metadata.cpu_time.has_value());
    EXPECT_FALSE(r.metadata.memory_peak_mb.has_value());
    EXPECT_EQ(r.metadata.duration.count(), 0);
}

}  // namespace
}  // namespace microvm
