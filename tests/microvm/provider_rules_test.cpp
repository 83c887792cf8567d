// The common rules of Provider::execute_program hold for every provider, before run() is reached.
#include <gtest/gtest.h>

#include "microvm/factory.hpp"
#include "microvm/provider.hpp"
#include "test_support.hpp"

namespace microvm {
namespace {

using testing::FakeCalls;
using testing::FakeOptions;
using testing::FakeProvider;

ExecutionContext rtfs_context(std::string source = "(+ 1 2)") {
    ExecutionContext ctx;
    ctx.execution_id = "exec-1";
    ctx.program = RtfsSource{std::move(source)};
    return ctx;
}

class ProviderRules : public ::testing::Test {
  protected:
    void SetUp() override {
        opts_.name = "fake";
        opts_.isolation = Isolation::Process;
    }
    FakeProvider& initialized() {
        provider_ = std::make_unique<FakeProvider>(opts_, calls_);
        EXPECT_TRUE(provider_->initialize().has_value());
        return *provider_;
    }

    FakeOptions opts_;
    std::shared_ptr<FakeCalls> calls_ = std::make_shared<FakeCalls>();
    std::unique_ptr<FakeProvider> provider_;
};

TEST_F(ProviderRules, RunsAValidContextAndFillsIdentity) {
    ExecutionResult r = initialized().execute_program(rtfs_context());
    EXPECT_EQ(calls_->run, 1);
    EXPECT_EQ(r.status, Status::Ok);
    EXPECT_EQ(r.value, "ran");
    EXPECT_EQ(r.execution_id, "exec-1");
    EXPECT_EQ(r.metadata.provider, "fake");
    EXPECT_EQ(r.metadata.isolation, Isolation::Process);
    EXPECT_FALSE(r.error.has_value());
}

TEST_F(ProviderRules, GeneratesAnExecutionIdWhenMissing) {
    ExecutionContext ctx = rtfs_context();
    ctx.execution_id.clear();
    FakeProvider& p = initialized();
    ExecutionResult a = p.execute_program(ctx);
    ExecutionResult b = p.execute_program(ctx);
    EXPECT_FALSE(a.execution_id.empty());
    EXPECT_NE(a.execution_id, b.execution_id);
}

TEST_F(ProviderRules, NotInitializedIsUnavailable) {
    FakeProvider p(opts_, calls_);
    ExecutionResult r = p.execute_program(rtfs_context());
    EXPECT_EQ(calls_->run, 0);
    EXPECT_EQ(r.status, Status::Unavailable);
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->reason, Reason::Unavailable);
    EXPECT_EQ(r.error->kind, "unavailable");
    EXPECT_NE(r.error->message.find("'fake'"), std::string::npos);
    EXPECT_EQ(r.metadata.provider, "fake");
}

TEST_F(ProviderRules, CleanupEndsInitialization) {
    FakeProvider& p = initialized();
    p.cleanup();
    p.cleanup();
    EXPECT_EQ(calls_->cleanup, 1);
    EXPECT_EQ(p.execute_program(rtfs_context()).status, Status::Unavailable);
    EXPECT_EQ(calls_->run, 0);
}

TEST_F(ProviderRules, InvalidConfigIsInvalidInput) {
    ExecutionContext ctx = rtfs_context();
    ctx.config.timeout = std::chrono::milliseconds(0);
    ExecutionResult r = initialized().execute_program(ctx);
    EXPECT_EQ(calls_->run, 0);
    EXPECT_EQ(r.status, Status::InvalidInput);
    ASSERT_TRUE(r.error.has_value());
    EXPECT_NE(r.error->message.find("timeout"), std::string::npos);
}

TEST_F(ProviderRules, MissingProgramIsInvalidInput) {
    ExecutionContext ctx = rtfs_context();
    ctx.program.reset();
    ExecutionResult r = initialized().execute_program(ctx);
    EXPECT_EQ(calls_->run, 0);
    EXPECT_EQ(r.status, Status::InvalidInput);
}

TEST_F(ProviderRules, CapabilityOutsidePermissionsIsRefusedBeforeRun) {
    ExecutionContext ctx = rtfs_context();
    ctx.capability_id = "ccos.network.http-fetch";
    ctx.capability_permissions = {"ccos.io.println", "ccos.math.add"};
    ExecutionResult r = initialized().execute_program(ctx);
    EXPECT_EQ(calls_->run, 0);
    EXPECT_EQ(r.status, Status::PolicyViolation);
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->kind, "SecurityViolation");
    EXPECT_NE(r.error->message.find("ccos.network.http-fetch"), std::string::npos);

    ctx.capability_permissions.clear();
    EXPECT_EQ(provider_->execute_program(ctx).status, Status::PolicyViolation);
    EXPECT_EQ(calls_->run, 0);
}

TEST_F(ProviderRules, PermittedCapabilityRuns) {
    ExecutionContext ctx = rtfs_context();
    ctx.capability_id = "ccos.math.add";
    ctx.capability_permissions = {"ccos.io.println", "ccos.math.add"};
    ExecutionResult r = initialized().execute_program(ctx);
    EXPECT_EQ(calls_->run, 1);
    EXPECT_EQ(r.status, Status::Ok);
}

TEST_F(ProviderRules, UnsupportedSettingsAreRefusedBeforeRun) {
    opts_.cannot_enforce = {{"network_policy", "allow lists need a proxy"},
                            {"cpu_limit", "no cpu controller"}};
    ExecutionResult r = initialized().execute_program(rtfs_context());
    EXPECT_EQ(calls_->run, 0);
    EXPECT_EQ(r.status, Status::PolicyViolation);
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->reason, Reason::PolicyRefused);
    EXPECT_EQ(r.error->kind, "policy_refused");
    EXPECT_EQ(r.error->message,
              "provider 'fake' cannot enforce network_policy: allow lists need a proxy; "
              "provider 'fake' cannot enforce cpu_limit: no cpu controller");
}

TEST_F(ProviderRules, ProgramKindOutsideRunsIsRefused) {
    opts_.name = "mock";
    ExecutionContext ctx = rtfs_context();
    ctx.program = ExternalProgram{"/bin/true", {}};
    ExecutionResult r = initialized().execute_program(ctx);
    EXPECT_EQ(calls_->run, 0);
    EXPECT_EQ(r.status, Status::PolicyViolation);
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->reason, Reason::PolicyRefused);
    EXPECT_EQ(r.error->kind, "policy_refused");
    // Outside a factory there is nobody to suggest.
    EXPECT_EQ(r.error->message,
              "provider 'mock' cannot run the program: it runs only rtfs, native programs");
}

// The suggestion names only providers registered in the same factory, available, and running
// that kind of program: never one that does not exist.
TEST(ProviderRefusals, SuggestOnlyRegisteredAvailableProvidersOfThatKind) {
    ProviderFactory f;  // the core tests' registry is empty (registry_stub.cpp)
    auto add = [&](const std::string& name, std::vector<ProgramKind> runs, bool available) {
        FakeOptions o;
        o.name = name;
        o.runs = std::move(runs);
        o.availability = {available, available ? "" : "no KVM"};
        f.register_provider(name, [o] { return std::make_unique<FakeProvider>(o); });
    };
    add("mock", {ProgramKind::Rtfs, ProgramKind::Native}, true);
    add("sandbox", {ProgramKind::Rtfs, ProgramKind::External}, true);
    add("vm", {ProgramKind::Rtfs, ProgramKind::External}, false);
    add("engine", {ProgramKind::Wasm}, true);
    ASSERT_TRUE(f.initialize_provider("mock").has_value());
    Provider* mock = *f.get_provider("mock");

    ExecutionContext ctx = rtfs_context();
    ctx.program = ExternalProgram{"/bin/true", {}};
    ExecutionResult r = mock->execute_program(ctx);
    ASSERT_TRUE(r.error.has_value());
    EXPECT_EQ(r.error->message,
              "provider 'mock' cannot run the program: it runs only rtfs, native programs; use "
              "sandbox for external programs");
    ctx.program = WasmModule{};
    r = mock->execute_program(ctx);
    ASSERT_TRUE(r.error.has_value());
    EXPECT_NE(r.error->message.find("; use engine for wasm programs"), std::string::npos)
        << r.error->message;
}

TEST_F(ProviderRules, CheckListsProgramKind) {
    FakeProvider p(opts_, calls_);
    ExecutionContext ctx = rtfs_context();
    EXPECT_TRUE(p.check(ctx).empty());
    ctx.program = WasmModule{};
    auto problems = p.check(ctx);
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].setting, "program");
    EXPECT_EQ(problems[0].reason, "it runs only rtfs, native programs");
}

TEST_F(ProviderRules, InitializeRefusesWhenUnavailable) {
    opts_.availability = {false, "no KVM"};
    FakeProvider p(opts_, calls_);
    auto r = p.initialize();
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, Failure::Kind::ProviderUnavailable);
    EXPECT_EQ(r.error().message, "provider 'fake' is unavailable: no KVM");
    EXPECT_FALSE(p.initialized());
    EXPECT_EQ(calls_->initialize, 0);
}

}  // namespace
}  // namespace microvm

namespace microvm {
namespace {

using testing::FakeCalls;
using testing::FakeOptions;
using testing::FakeProvider;

// The lifecycle contract, with executions running at the same time.
class ProviderLifecycle : public ::testing::Test {
  protected:
    ExecutionContext context() {
        ExecutionContext ctx;
        ctx.program = RtfsSource{"(+ 1 2)"};
        return ctx;
    }
    std::shared_ptr<FakeCalls> calls_ = std::make_shared<FakeCalls>();
};

TEST_F(ProviderLifecycle, InitializingAgainWithOtherSettingsFailsAndWithTheSameIsANoOp) {
    FakeOptions o;
    o.schema = nlohmann::json{{"type", "object"},
                              {"properties", {{"n", {{"type", "integer"}}}}},
                              {"additionalProperties", false}};
    FakeProvider p(o, calls_);
    ASSERT_TRUE(p.initialize({{"n", 1}}));
    EXPECT_TRUE(p.initialize({{"n", 1}}));
    EXPECT_EQ(calls_->initialize, 1);
    auto other = p.initialize({{"n", 2}});
    ASSERT_FALSE(other);
    EXPECT_EQ(other.error().kind, Failure::Kind::InvalidConfig);
    EXPECT_NE(other.error().message.find("already initialized with other settings"),
              std::string::npos);
    EXPECT_EQ(calls_->initialize, 1);  // nothing swapped under the running provider
    p.cleanup();
    EXPECT_TRUE(p.initialize({{"n", 2}}));
    EXPECT_EQ(calls_->initialize, 2);
}

TEST_F(ProviderLifecycle, CleanupCancelsRunningExecutionsWaitsForThemAndRefusesNewOnes) {
    FakeOptions o;
    o.run_until_cancelled = true;
    FakeProvider p(o, calls_);
    ASSERT_TRUE(p.initialize());
    std::vector<ExecutionResult> results(4);
    std::vector<std::thread> threads;
    for (auto& r : results) threads.emplace_back([&] { r = p.execute_program(context()); });
    while (calls_->running < 4) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    p.cleanup();
    // cleanup() returned only once every execution had ended.
    EXPECT_EQ(calls_->running, 0);
    EXPECT_EQ(calls_->cleanup, 1);
    for (std::thread& t : threads) t.join();
    for (const ExecutionResult& r : results) {
        EXPECT_EQ(r.status, Status::Killed);
        ASSERT_TRUE(r.error);
        EXPECT_EQ(r.error->reason, Reason::Cancelled);
    }
    ExecutionResult after = p.execute_program(context());
    EXPECT_EQ(after.status, Status::Unavailable);
    EXPECT_EQ(calls_->run, 4);
}

TEST_F(ProviderLifecycle, TheCallersCancellationReachesTheRun) {
    FakeOptions o;
    o.run_until_cancelled = true;
    FakeProvider p(o, calls_);
    ASSERT_TRUE(p.initialize());
    CancelSource mine;
    ExecutionContext ctx = context();
    ctx.cancel = mine.token();
    ExecutionResult r;
    std::thread t([&] { r = p.execute_program(ctx); });
    while (calls_->running < 1) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    mine.cancel();
    t.join();
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->reason, Reason::Cancelled);
    // Cancelled before it starts: it still runs to its cancelled end, never hangs.
    ExecutionResult again = p.execute_program(ctx);
    EXPECT_EQ(again.error->reason, Reason::Cancelled);
}

TEST(CancelTokens, ChildrenFollowTheirParentsAndTheDescriptorSignals) {
    CancelSource parent, other;
    CancelSource child = CancelSource::child_of(parent.token());
    child.follow(other.token());
    EXPECT_FALSE(child.cancelled());
    EXPECT_GE(child.token().wait_fd(), 0);
    other.cancel();
    EXPECT_TRUE(child.cancelled());
    EXPECT_FALSE(parent.cancelled());
    uint64_t n = 0;
    EXPECT_EQ(::read(child.token().wait_fd(), &n, sizeof n), static_cast<ssize_t>(sizeof n));
    CancelToken never;
    EXPECT_FALSE(never.cancelled());
    EXPECT_EQ(never.wait_fd(), -1);
    EXPECT_EQ(cancel_flag(never), nullptr);
}

}  // namespace
}  // namespace microvm
