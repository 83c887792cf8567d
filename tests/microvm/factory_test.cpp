// ProviderFactory: registration, unknown and unavailable providers, settings checked against
// the provider's schema, lifecycle and thread safety.
#include <gtest/gtest.h>

#include <thread>

#include "microvm/factory.hpp"
#include "test_support.hpp"

namespace microvm {
namespace {

using testing::FakeCalls;
using testing::FakeOptions;
using testing::FakeProvider;

ProviderMaker maker(FakeOptions opts,
                    std::shared_ptr<FakeCalls> calls = std::make_shared<FakeCalls>()) {
    return [opts, calls] { return std::make_unique<FakeProvider>(opts, calls); };
}

FakeOptions named(std::string name) {
    FakeOptions o;
    o.name = std::move(name);
    return o;
}

TEST(Factory, RegisterAndList) {
    ProviderFactory f;
    FakeOptions mock = named("mock");
    FakeOptions sandbox = named("sandbox");
    sandbox.isolation = Isolation::Process;
    sandbox.runs = {ProgramKind::External};
    f.register_provider("mock", maker(mock));
    f.register_provider("sandbox", maker(sandbox));
    EXPECT_EQ(f.provider_names(), (std::vector<std::string>{"mock", "sandbox"}));
    auto infos = f.list_providers();
    ASSERT_EQ(infos.size(), 2u);
    EXPECT_EQ(infos[1].name, "sandbox");
    EXPECT_EQ(infos[1].isolation, Isolation::Process);
    EXPECT_EQ(infos[1].runs, std::vector<ProgramKind>{ProgramKind::External});
    EXPECT_TRUE(infos[1].availability.available);
    EXPECT_FALSE(infos[1].initialized);
}

TEST(Factory, UnknownProvider) {
    ProviderFactory f;
    f.register_provider("mock", maker(named("mock")));
    f.register_provider("process", maker(named("process")));
    auto r = f.initialize_provider("nope");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, Failure::Kind::UnknownProvider);
    EXPECT_EQ(r.error().message, "unknown provider 'nope' (known: mock, process)");
    auto g = f.get_provider("nope");
    ASSERT_FALSE(g.has_value());
    EXPECT_EQ(g.error().kind, Failure::Kind::UnknownProvider);
}

TEST(Factory, UnavailableProviderIsRefused) {
    ProviderFactory f;
    auto calls = std::make_shared<FakeCalls>();
    FakeOptions gvisor = named("gvisor");
    gvisor.availability = {false, "runsc not found on PATH"};
    f.register_provider("gvisor", maker(gvisor, calls));
    auto r = f.initialize_provider("gvisor");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind, Failure::Kind::ProviderUnavailable);
    EXPECT_EQ(r.error().message, "provider 'gvisor' is unavailable: runsc not found on PATH");
    EXPECT_EQ(calls->initialize, 0);
    auto infos = f.list_providers();
    ASSERT_EQ(infos.size(), 1u);
    EXPECT_FALSE(infos[0].availability.available);
    EXPECT_EQ(infos[0].availability.reason, "runsc not found on PATH");
    EXPECT_EQ(f.get_provider("gvisor").error().kind, Failure::Kind::NotInitialized);
}

TEST(Factory, Lifecycle) {
    ProviderFactory f;
    auto calls = std::make_shared<FakeCalls>();
    f.register_provider("mock", maker(named("mock"), calls));

    auto before = f.get_provider("mock");
    ASSERT_FALSE(before.has_value());
    EXPECT_EQ(before.error().kind, Failure::Kind::NotInitialized);
    EXPECT_EQ(before.error().message,
              "provider 'mock' is not initialized; call initialize_provider first");

    ASSERT_TRUE(f.initialize_provider("mock").has_value());
    ASSERT_TRUE(f.initialize_provider("mock").has_value());  // idempotent
    EXPECT_EQ(calls->initialize, 1);
    auto p = f.get_provider("mock");
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ((*p)->name(), "mock");
    EXPECT_TRUE((*p)->initialized());
    EXPECT_TRUE(f.list_providers()[0].initialized);

    f.cleanup_all();
    EXPECT_EQ(calls->cleanup, 1);
    auto after = f.get_provider("mock");
    ASSERT_FALSE(after.has_value());
    EXPECT_EQ(after.error().kind, Failure::Kind::NotInitialized);

    ASSERT_TRUE(f.initialize_provider("mock").has_value());  // can start again
    EXPECT_EQ(calls->initialize, 2);
}

TEST(Factory, DestructorCleansUp) {
    auto calls = std::make_shared<FakeCalls>();
    {
        ProviderFactory f;
        f.register_provider("mock", maker(named("mock"), calls));
        ASSERT_TRUE(f.initialize_provider("mock").has_value());
    }
    EXPECT_EQ(calls->cleanup, 1);
}

TEST(Factory, SettingsAreValidatedAgainstTheSchema) {
    ProviderFactory f;
    auto calls = std::make_shared<FakeCalls>();
    FakeOptions fc = named("firecracker");
    fc.schema = nlohmann::json::parse(R"({
        "type": "object",
        "properties": {
            "binary": {"type": "string"},
            "vcpus": {"type": "integer", "minimum": 1, "maximum": 32},
            "mode": {"enum": ["kvm", "tcg"]},
            "boot_args": {"type": "array", "items": {"type": "string"}}
        },
        "required": ["binary"],
        "additionalProperties": false
    })");
    f.register_provider("firecracker", maker(fc, calls));

    auto expect_invalid = [&](const nlohmann::json& settings, const std::string& fragment) {
        auto r = f.initialize_provider("firecracker", settings);
        ASSERT_FALSE(r.has_value()) << settings.dump();
        EXPECT_EQ(r.error().kind, Failure::Kind::InvalidConfig);
        EXPECT_NE(r.error().message.find(fragment), std::string::npos) << r.error().message;
    };
    expect_invalid({{"binary", "/x"}, {"kernal", "k"}}, "unknown key 'kernal'");
    expect_invalid({{"binary", 5}}, "binary: expected string, got integer");
    expect_invalid({{"binary", "/x"}, {"vcpus", 1.5}}, "vcpus: expected integer, got number");
    expect_invalid({{"binary", "/x"}, {"vcpus", 64}}, "vcpus: must be at most 32");
    expect_invalid({{"binary", "/x"}, {"mode", "xen"}}, "mode: must be one of");
    expect_invalid({{"binary", "/x"}, {"boot_args", {"a", 1}}}, "boot_args[1]: expected string");
    expect_invalid(nlohmann::json::object(), "binary: missing required key");
    expect_invalid(nlohmann::json::array(), "expected object");
    EXPECT_EQ(calls->initialize, 0);

    nlohmann::json good = {{"binary", "/usr/bin/firecracker"}, {"vcpus", 2}, {"mode", "kvm"}};
    ASSERT_TRUE(f.initialize_provider("firecracker", good).has_value());
    EXPECT_EQ(calls->last_settings, good);
}

TEST(Factory, DefaultSchemaTakesNoSettings) {
    ProviderFactory f;
    f.register_provider("mock", maker(named("mock")));
    auto r = f.initialize_provider("mock", {{"anything", 1}});
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find("unknown key 'anything'"), std::string::npos)
        << r.error().message;
    EXPECT_EQ(
        FakeProvider().config_schema(),
        nlohmann::json::parse(R"({"type":"object","properties":{},"additionalProperties":false})"));
}

TEST(Factory, ReplacingAProviderDropsTheOldInstance) {
    ProviderFactory f;
    auto old_calls = std::make_shared<FakeCalls>();
    f.register_provider("mock", maker(named("mock"), old_calls));
    ASSERT_TRUE(f.initialize_provider("mock").has_value());
    f.register_provider("mock", maker(named("mock")));
    EXPECT_EQ(old_calls->cleanup, 1);
    EXPECT_EQ(f.get_provider("mock").error().kind, Failure::Kind::NotInitialized);
}

TEST(Factory, ConcurrentUse) {
    ProviderFactory f;
    auto calls = std::make_shared<FakeCalls>();
    f.register_provider("mock", maker(named("mock"), calls));
    std::vector<std::thread> threads;
    std::atomic<int> ran{0};
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 50; ++i) {
                if (!f.initialize_provider("mock")) continue;
                auto p = f.get_provider("mock");
                if (!p) continue;
                ExecutionContext ctx;
                ctx.program = RtfsSource{"1"};
                if ((*p)->execute_program(ctx).ok()) ++ran;
                (void)f.list_providers();
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(calls->initialize, 1);
    EXPECT_EQ(ran, 400);
}

}  // namespace
}  // namespace microvm
