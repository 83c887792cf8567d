// Pools of sandboxes built ahead ([service.sandbox_pools.NAME]) over the real Unix socket: a
// request of the template's shape runs in a pooled process sandbox (a hit) with its own argv,
// limits and time counted from its launch; nothing of one pooled execution reaches the next; a
// request of another shape runs fresh (a miss) under its own limits; the pool refills; and the
// service's end leaves no process, cgroup, mount or temp dir behind. The settings are checked at
// start, naming the key.
#include <gtest/gtest.h>

#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "harness.hpp"
#include "host/remove_tree.hpp"
#include "host_probes.hpp"
#include "microvm/guest_protocol.hpp"
#include "service/audit_log.hpp"
#include "service/sandbox_pools.hpp"
#include "support/expectations.hpp"

using namespace svctest;
using namespace std::chrono_literals;
using microvm::service::SandboxPools;
using microvm::service::SandboxPoolConfig;
using nlohmann::json;

namespace {

const std::string kAlloc = ENFORCEMENT_ALLOC;  // allocates and touches N MiB

// A pool template as the settings file gives it (TOML read as JSON).
json process_pool(const std::vector<std::string>& run, size_t size, json policy = json::object()) {
    json t = {{"provider", "process"}, {"size", size}, {"run", run}, {"fs_policy", "ro"}};
    t.update(policy);
    return t;
}

std::function<void(microvm::service::ServiceOptions&)> with_pools(json pools) {
    return [pools](microvm::service::ServiceOptions& o) { o.settings.service = {{"sandbox_pools", pools}}; };
}

json run_body(const std::vector<std::string>& argv, json policy = json::object()) {
    json b = {{"provider", "process"}, {"run", argv}, {"fs_policy", "ro"}};
    b.update(policy);
    return b;
}

// A background `sleep 60` this test process can tell from any other on the machine (sleep adds
// up its arguments: the second is a few microseconds).
std::string detached_sleep() {
    static const std::string marker = "sleep 60 0.0000" + std::to_string(::getpid());
    return marker;
}

double hits(const Harness& h, const std::string& pool) {
    return h.metric("microvmd_pool_hits_total{pool=\"" + pool + "\"}");
}
double misses(const Harness& h, const std::string& pool) {
    return h.metric("microvmd_pool_misses_total{pool=\"" + pool + "\"}");
}

class SandboxPoolsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        MICROVM_REQUIRE("process", provider_available("process"), "the process provider is unavailable here");
        MICROVM_REQUIRE("cgroups", ::access("/sys/fs/cgroup", F_OK) == 0, "no cgroup file system");
    }
};

microvm::Settings settings_with(json pools) {
    microvm::Settings s;
    s.service = {{"sandbox_pools", pools}};
    return s;
}

std::string config_error(json pools) {
    auto r = microvm::service::read_sandbox_pool_configs(settings_with(std::move(pools)));
    return r ? "" : r.error().message;
}

}  // namespace

TEST(SandboxPoolConfig, ReadsTemplatesAndNamesTheKeyOfEachError) {
    auto ok = microvm::service::read_sandbox_pool_configs(settings_with(
        {{"sh", process_pool({"/bin/sh"}, 3, {{"memory_limit_mb", 64}, {"timeout", "2s"}})},
         {"rtfs", {{"provider", "process"}, {"size", 1}, {"eval", true}}}}));
    ASSERT_TRUE(ok) << ok.error().message;
    ASSERT_EQ(ok->size(), 2u);
    EXPECT_EQ((*ok)[1].first, "sh");
    EXPECT_EQ((*ok)[1].second.size, 3u);
    EXPECT_EQ((*ok)[1].second.policy.config.memory_limit_mb, 64u);
    EXPECT_TRUE((*ok)[0].second.program.is_eval);

    EXPECT_NE(config_error({{"p", process_pool({"/bin/sh"}, 1, {{"colour", 1}})}}).find("service.sandbox_pools.p.colour: unknown key"),
              std::string::npos);
    EXPECT_NE(config_error({{"p", {{"size", 1}, {"run", {"/bin/sh"}}}}}).find("service.sandbox_pools.p.provider"), std::string::npos);
    EXPECT_NE(config_error({{"p", process_pool({"/bin/sh"}, 257)}}).find("service.sandbox_pools.p.size"), std::string::npos);
    EXPECT_NE(config_error({{"p", process_pool({"/bin/sh"}, 1, {{"eval", true}})}}).find("exactly one of run"), std::string::npos);
    EXPECT_NE(config_error({{"p", {{"provider", "process"}, {"size", 1}}}}).find("exactly one of run"), std::string::npos);
    EXPECT_NE(config_error({{"p", {{"provider", "process"}, {"eval", "(+ 1 2)"}}}}).find("service.sandbox_pools.p.eval"), std::string::npos);
    EXPECT_NE(config_error({{"p", process_pool({}, 1)}}).find("service.sandbox_pools.p.run"), std::string::npos);
    EXPECT_NE(config_error({{"p", process_pool({"/bin/sh"}, 1, {{"timeout", "soon"}})}}).find("service.sandbox_pools.p.timeout"),
              std::string::npos);
    EXPECT_NE(config_error({{"p", process_pool({"/bin/sh"}, 1, {{"memory_limit_mb", "lots"}})}}).find("service.sandbox_pools.p.memory_limit_mb"),
              std::string::npos);
    // Host lists need the execution's own egress proxy: never built ahead, refused at start.
    const std::string lists = config_error({{"p", process_pool({"/bin/sh"}, 1, {{"network_policy", {{"allow", {"example.com"}}}}})}});
    EXPECT_NE(lists.find("service.sandbox_pools.p.network_policy"), std::string::npos) << lists;
    EXPECT_NE(lists.find("egress proxy"), std::string::npos) << lists;
    EXPECT_FALSE(microvm::service::read_sandbox_pool_configs(settings_with(json::array())));
}

TEST(SandboxPoolConfig, TheServiceRefusesAnUnknownProviderAndASharedName) {
    using microvm::service::Service;
    using microvm::service::ServiceOptions;
    const std::string dir = make_temp_dir();
    ServiceOptions o;
    o.state_dir = dir + "/state";
    o.settings.service = {{"sandbox_pools", {{"p", {{"provider", "nosuch"}, {"size", 1}, {"run", {"/bin/true"}}}}}}};
    auto s = Service::create(o, nullptr);
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message.find("service.sandbox_pools.p.provider: unknown provider 'nosuch'"), std::string::npos);
    // A provider's own table too, whichever providers requests will start (red team, 2026-12-06).
    o.settings.service = nlohmann::json::object();
    o.settings.provider_configs["gvisor"] = {{"bogus_key", 1}};
    s = Service::create(o, nullptr);
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message.find("unknown key 'bogus_key'"), std::string::npos) << s.error().message;
    o.settings.provider_configs.clear();
    o.settings.service = {{"pools", {{"process", {{"size", 1}}}}},
                          {"sandbox_pools", {{"process", process_pool({"/bin/true"}, 1)}}}};
    s = Service::create(o, nullptr);
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message.find("service.sandbox_pools.process"), std::string::npos) << s.error().message;
    // Each was refused before anything was made.
    EXPECT_FALSE(std::filesystem::exists(o.state_dir));
    microvm::host::remove_tree(dir);
}

// Red team K5: a pool of mock (no isolation) ran its warmup_eval, or retried building its
// sandboxes every 3 s, inside the daemon for its whole life, without --allow-unisolated and with
// no request able to use it. Refused at start now, naming the pool and the flag.
TEST(SandboxPoolConfig, PoolsOfAnUnisolatedProviderNeedAllowUnisolated) {
    using microvm::service::Service;
    using microvm::service::ServiceOptions;
    const std::string dir = make_temp_dir();
    const json warm = {{"pools", {{"mock", {{"size", 1}, {"warmup_eval", "(+ 1 1)"}}}}}};
    const json sandbox = {{"sandbox_pools", {{"m", {{"provider", "mock"}, {"size", 1}, {"eval", true}}}}}};
    for (const json& service : {warm, sandbox}) {
        ServiceOptions o;
        o.state_dir = dir + "/state";
        o.settings.service = service;
        auto s = Service::create(o, nullptr);
        ASSERT_FALSE(s) << service.dump();
        const std::string& m = s.error().message;
        EXPECT_NE(m.find(service.contains("pools") ? "service.pools.mock" : "service.sandbox_pools.m.provider"),
                  std::string::npos) << m;
        EXPECT_NE(m.find("--allow-unisolated"), std::string::npos) << m;
        o.allow_unisolated = true;
        auto allowed = Service::create(o, nullptr);
        EXPECT_TRUE(allowed) << allowed.error().message;
    }
    // An isolated provider's pools need no flag.
    ServiceOptions o;
    o.state_dir = dir + "/state";
    o.settings.service = {{"sandbox_pools", {{"p", process_pool({"/bin/true"}, 1)}}}};
    auto isolated = Service::create(o, nullptr);
    EXPECT_TRUE(isolated) << isolated.error().message;
    isolated->reset();
    microvm::host::remove_tree(dir);
}

TEST_F(SandboxPoolsTest, AHitRunsTheRequestsOwnArgvAndIsAuditedAsPooled) {
    const std::string dir = make_temp_dir();
    auto audit = microvm::service::AuditLog::open(dir + "/audit.log", microvm::service::AuditSync::EveryRecord);
    ASSERT_TRUE(audit);
    {
        Harness h(with_pools({{"echo", process_pool({"/bin/echo", "template"}, 1)}}), {}, std::move(*audit));
        ASSERT_TRUE(h.service->sandbox_pools()->wait_full(30s)) << h.service->sandbox_pools()->last_error("echo");
        auto r = h.call_json("POST", "/v1/executions", run_body({"/bin/echo", "request", "argv"}));
        ASSERT_EQ(r.status, 200) << r.body;
        EXPECT_EQ(body_json(r)["status"], "ok") << r.body;
        EXPECT_EQ(body_json(r)["stdout"], "request argv\n") << r.body;
        EXPECT_EQ(hits(h, "echo"), 1);
        EXPECT_EQ(misses(h, "echo"), 0);
        EXPECT_EQ(h.metric("microvmd_pool_target{pool=\"echo\"}"), 1);
    }
    std::ifstream in(dir + "/audit.log");
    std::string line, last;
    while (std::getline(in, line))
        if (line.find("\"event\":\"execution\"") != std::string::npos) last = line;
    EXPECT_EQ(json::parse(last, nullptr, false)["pooled"], true) << last;
    microvm::host::remove_tree(dir);
}

// eval = true: the sandboxes hold the RTFS guest runner; each request brings its own source.
TEST_F(SandboxPoolsTest, AnRtfsPoolRunsEachRequestsSource) {
    MICROVM_REQUIRE("guest-runner", microvm::guest::find_guest_runner(), "not built");
    Harness h(with_pools({{"rtfs", {{"provider", "process"}, {"size", 1}, {"eval", true}}}}));
    ASSERT_TRUE(h.service->sandbox_pools()->wait_full(30s)) << h.service->sandbox_pools()->last_error("rtfs");
    // A sanitized build's guest runner cannot run its leak check in the sandbox (no ptrace).
    const json env = {{"ASAN_OPTIONS", "detect_leaks=0"}};
    auto r = h.call_json("POST", "/v1/executions", {{"provider", "process"}, {"eval", "(* 6 7)"}, {"env_vars", env}});
    EXPECT_EQ(body_json(r)["value"], "42") << r.body;
    EXPECT_EQ(hits(h, "rtfs"), 1);
    ASSERT_TRUE(h.service->sandbox_pools()->wait_full(30s));
    auto again = h.call_json("POST", "/v1/executions", {{"provider", "process"}, {"eval", "(str \"a\" \"b\")"}, {"env_vars", env}});
    EXPECT_EQ(body_json(again)["value"], "\"ab\"") << again.body;
    EXPECT_EQ(hits(h, "rtfs"), 2);
}

// Execution 1 writes a file in /tmp and leaves a detached process running; execution 2, also a
// hit, sees neither, and the host has no process left from execution 1.
TEST_F(SandboxPoolsTest, NothingOfOnePooledExecutionReachesTheNext) {
    Harness h(with_pools({{"sh", process_pool({"/bin/sh"}, 2)}}));
    auto* pools = h.service->sandbox_pools();
    ASSERT_TRUE(pools->wait_full(30s)) << pools->last_error("sh");
    auto first = h.call_json("POST", "/v1/executions",
                             run_body({"/bin/sh", "-c", "echo planted > /tmp/planted; setsid " + detached_sleep() + " & echo started"}));
    ASSERT_EQ(body_json(first)["status"], "ok") << first.body;
    EXPECT_EQ(body_json(first)["stdout"], "started\n");
    ASSERT_TRUE(pools->wait_full(30s));
    auto second = h.call_json(
        "POST", "/v1/executions",
        run_body({"/bin/sh", "-c",
                  "test -e /tmp/planted && echo file-present; "
                  "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done | grep -c '^" + detached_sleep() + " $' || true"}));
    ASSERT_EQ(body_json(second)["status"], "ok") << second.body;
    EXPECT_EQ(body_json(second)["stdout"], "0\n") << second.body;
    EXPECT_EQ(hits(h, "sh"), 2);
    EXPECT_TRUE(enforcement::processes_with_marker(detached_sleep()).empty());
}

// A request whose policy differs from the template's runs in a fresh sandbox (a miss) under its
// own memory limit, above and below the template's.
TEST_F(SandboxPoolsTest, ARequestOfAnotherPolicyIsAMissUnderItsOwnLimits) {
    Harness h(with_pools({{"alloc", process_pool({kAlloc}, 1, {{"memory_limit_mb", 32}})}}));
    ASSERT_TRUE(h.service->sandbox_pools()->wait_full(30s)) << h.service->sandbox_pools()->last_error("alloc");
    auto roomier = h.call_json("POST", "/v1/executions", run_body({kAlloc, "100"}, {{"memory_limit_mb", 256}}));
    EXPECT_EQ(body_json(roomier)["status"], "ok") << roomier.body;
    auto tighter = h.call_json("POST", "/v1/executions", run_body({kAlloc, "100"}, {{"memory_limit_mb", 64}}));
    EXPECT_EQ(body_json(tighter)["status"], "memory_exceeded") << tighter.body;
    EXPECT_EQ(hits(h, "alloc"), 0);
    EXPECT_EQ(misses(h, "alloc"), 2);
    EXPECT_EQ(h.metric("microvmd_pool_ready{pool=\"alloc\"}"), 1);  // still there for its shape
}

TEST_F(SandboxPoolsTest, TheTemplatesMemoryLimitHoldsOnAHit) {
    Harness h(with_pools({{"alloc", process_pool({kAlloc}, 1, {{"memory_limit_mb", 32}})}}));
    ASSERT_TRUE(h.service->sandbox_pools()->wait_full(30s)) << h.service->sandbox_pools()->last_error("alloc");
    auto r = h.call_json("POST", "/v1/executions", run_body({kAlloc, "100"}, {{"memory_limit_mb", 32}}));
    EXPECT_EQ(body_json(r)["status"], "memory_exceeded") << r.body;
    EXPECT_EQ(hits(h, "alloc"), 1);
    ASSERT_TRUE(h.service->sandbox_pools()->wait_full(30s));
    auto small = h.call_json("POST", "/v1/executions", run_body({kAlloc, "4"}, {{"memory_limit_mb", 32}}));
    EXPECT_EQ(body_json(small)["status"], "ok") << small.body;
    EXPECT_EQ(hits(h, "alloc"), 2);
}

// The request's time limit counts from its launch, not from when the sandbox was built.
TEST_F(SandboxPoolsTest, TheTimeLimitCountsFromTheLaunch) {
    Harness h(with_pools({{"sleep", process_pool({"/bin/sleep"}, 1)}}));
    ASSERT_TRUE(h.service->sandbox_pools()->wait_full(30s)) << h.service->sandbox_pools()->last_error("sleep");
    std::this_thread::sleep_for(2s);
    auto r = h.call_json("POST", "/v1/executions", run_body({"/bin/sleep", "1"}, {{"timeout", "1500ms"}}));
    EXPECT_EQ(body_json(r)["status"], "ok") << r.body;
    EXPECT_EQ(hits(h, "sleep"), 1);
    // And it is enforced: a longer sleep is ended at the limit.
    ASSERT_TRUE(h.service->sandbox_pools()->wait_full(30s));
    auto late = h.call_json("POST", "/v1/executions", run_body({"/bin/sleep", "5"}, {{"timeout", "500ms"}}));
    EXPECT_EQ(body_json(late)["status"], "timeout") << late.body;
    EXPECT_EQ(hits(h, "sleep"), 2);
}

TEST_F(SandboxPoolsTest, ThePoolRefillsAfterItsSandboxesAreUsed) {
    Harness h(with_pools({{"true", process_pool({"/bin/true"}, 2)}}));
    auto* pools = h.service->sandbox_pools();
    ASSERT_TRUE(pools->wait_full(30s)) << pools->last_error("true");
    for (int i = 0; i < 5; ++i) {
        auto r = h.call_json("POST", "/v1/executions", run_body({"/bin/true"}));
        EXPECT_EQ(body_json(r)["status"], "ok") << r.body;
    }
    ASSERT_TRUE(pools->wait_full(30s));
    EXPECT_EQ(h.metric("microvmd_pool_ready{pool=\"true\"}"), 2);
    EXPECT_GE(pools->created("true"), 2u + static_cast<uint64_t>(hits(h, "true")));
    EXPECT_GE(hits(h, "true") + misses(h, "true"), 5);
    EXPECT_GE(hits(h, "true"), 1);
    EXPECT_EQ(h.metric("microvmd_pool_failures_total{pool=\"true\"}"), 0);
}

// Refills wait for a moment without executions (a refill competes with them for the cores),
// except a dry pool's, which refills at once; and one pool waiting does not hold up another.
TEST_F(SandboxPoolsTest, ADryPoolRefillsWhileExecutionsRunAndOthersWait) {
    Harness h(with_pools({{"a_true", process_pool({"/bin/true"}, 2)}, {"b_sh", process_pool({"/bin/sh"}, 1)}}));
    auto* pools = h.service->sandbox_pools();
    ASSERT_TRUE(pools->wait_full(30s)) << pools->last_error("a_true") << pools->last_error("b_sh");
    auto ready = [&](const std::string& name) { return pools->figures().at(name).ready; };
    {
        SandboxPools::Activity running = pools->activity();  // an execution that goes on
        auto t = h.call_json("POST", "/v1/executions", run_body({"/bin/true"}));
        EXPECT_EQ(body_json(t)["status"], "ok") << t.body;
        auto sh = h.call_json("POST", "/v1/executions", run_body({"/bin/sh", "-c", "true"}));
        EXPECT_EQ(body_json(sh)["status"], "ok") << sh.body;
        EXPECT_EQ(hits(h, "a_true"), 1);
        EXPECT_EQ(hits(h, "b_sh"), 1);
        // b_sh ran dry: refilled while the execution still runs.
        EXPECT_TRUE(enforcement::eventually([&] { return ready("b_sh") == 1; }));
        std::this_thread::sleep_for(300ms);
        EXPECT_EQ(ready("a_true"), 1u) << "a pool with a ready sandbox refilled during an execution";
    }
    ASSERT_TRUE(pools->wait_full(30s));  // and once nothing runs, it does
    EXPECT_EQ(ready("a_true"), 2u);
}

// A provider double whose sandboxes fit while `fit` is set; a look that does not fit takes
// 100 ms, the window in which its pool holds no ready sandbox.
class SlowLookProvider : public microvm::Provider {
  public:
    std::atomic<bool> fit{true};
    std::string_view name() const override { return "slowlook"; }
    microvm::Isolation isolation() const override { return microvm::Isolation::None; }
    std::vector<microvm::ProgramKind> runs() const override { return {microvm::ProgramKind::Rtfs}; }
    microvm::Availability availability() const override { return {true, ""}; }
    bool fits(const microvm::PreparedSandbox&, const microvm::ExecutionContext&) const override {
        if (fit) return true;
        std::this_thread::sleep_for(100ms);
        return false;
    }

  protected:
    microvm::Expected<void> do_initialize(const json&) override { return microvm::Ok{}; }
    microvm::ExecutionResult run(const microvm::ExecutionContext& ctx, const microvm::CancelToken&) override {
        return make_result(ctx);
    }
    microvm::Expected<std::unique_ptr<microvm::PreparedSandbox>> do_prepare(const microvm::ExecutionContext&) override {
        return std::make_unique<microvm::PreparedSandbox>();
    }
};

// A pool whose last ready sandbox is out for a look by an execution it does not fit is not dry:
// the sandbox comes back, so it waits for the quiet moment like any pool with one ready (CI,
// 2026-12-06: it refilled during an execution, found by ADryPoolRefillsWhileExecutionsRunAndOthersWait).
TEST(SandboxPoolRefill, ASandboxOutForALookLeavesItsPoolNotDry) {
    SlowLookProvider provider;
    ASSERT_TRUE(provider.initialize());
    SandboxPoolConfig shape;
    shape.provider = "slowlook";
    shape.size = 2;
    shape.program.program = microvm::RtfsSource{"1"};
    shape.program.is_eval = true;
    SandboxPools pools({{"p", shape}}, [&](const std::string&) -> microvm::Expected<microvm::Provider*> { return &provider; });
    ASSERT_TRUE(pools.wait_full(10s)) << pools.last_error("p");
    const microvm::ExecutionContext ctx = microvm::service::execution_context(shape.program.program, shape.policy);
    SandboxPools::Activity running = pools.activity();  // an execution that goes on
    { ASSERT_TRUE(pools.claim("slowlook", provider, ctx)); }  // one ready sandbox left
    provider.fit = false;
    std::thread look([&] { EXPECT_FALSE(pools.claim("slowlook", provider, ctx)); });
    // Executions that end during the look wake the pools' thread, which judges the pool then.
    for (int i = 0; i < 8; ++i) {
        std::this_thread::sleep_for(10ms);
        SandboxPools::Activity other = pools.activity();
    }
    look.join();
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(pools.figures().at("p").ready, 1u) << "refilled during an execution";
    EXPECT_EQ(pools.created("p"), 2u);
}

// A ready sandbox that expired while it waited (here: its init was killed) is never handed out:
// it is torn down and replaced, found by the next execution (which runs fresh) or by the pools'
// thread while idle.
TEST_F(SandboxPoolsTest, ASandboxWhoseInitDiedIsDroppedAndReplaced) {
    const auto before = enforcement::take_snapshot().children;
    Harness h(with_pools({{"true", process_pool({"/bin/true"}, 1)}}));
    auto* pools = h.service->sandbox_pools();
    ASSERT_TRUE(pools->wait_full(30s)) << pools->last_error("true");
    std::vector<int> inits;
    for (int pid : enforcement::take_snapshot().children)
        if (!before.count(pid)) inits.push_back(pid);
    ASSERT_EQ(inits.size(), 1u);
    ASSERT_EQ(::kill(inits[0], SIGKILL), 0);
    std::this_thread::sleep_for(100ms);
    auto r = h.call_json("POST", "/v1/executions", run_body({"/bin/true"}));
    EXPECT_EQ(body_json(r)["status"], "ok") << r.body;
    EXPECT_EQ(pools->expired("true"), 1u);
    ASSERT_TRUE(pools->wait_full(30s));
    EXPECT_EQ(pools->created("true"), 2u);
    // Without a request: the idle pools' thread finds it (every 5 s) and builds another.
    // (The fresh run's init is reaped by the provider's teardown, just after its result.)
    std::vector<int> second;
    EXPECT_TRUE(enforcement::eventually([&] {
        second.clear();
        for (int pid : enforcement::take_snapshot().children)
            if (!before.count(pid)) second.push_back(pid);
        return second.size() == 1;
    }));
    ASSERT_EQ(second.size(), 1u);
    ASSERT_EQ(::kill(second[0], SIGKILL), 0);
    for (int i = 0; i < 150 && pools->created("true") < 3; ++i) std::this_thread::sleep_for(100ms);
    EXPECT_EQ(pools->expired("true"), 2u);
    EXPECT_EQ(pools->created("true"), 3u);
}

// A template the provider cannot build keeps its error (metrics, last_error) and executions run
// fresh; the mock provider builds nothing ahead.
TEST_F(SandboxPoolsTest, APoolThatCannotBeBuiltKeepsItsErrorAndExecutionsRunFresh) {
    Harness h(with_pools({{"mock", {{"provider", "mock"}, {"size", 1}, {"eval", true}}}}));
    auto* pools = h.service->sandbox_pools();
    for (int i = 0; i < 100 && pools->last_error("mock").empty(); ++i) std::this_thread::sleep_for(50ms);
    EXPECT_NE(pools->last_error("mock").find("does not build sandboxes ahead"), std::string::npos)
        << pools->last_error("mock");
    EXPECT_GE(h.metric("microvmd_pool_failures_total{pool=\"mock\"}"), 1);
    auto r = h.call_json("POST", "/v1/executions", {{"provider", "mock"}, {"eval", "(+ 1 2)"}});
    EXPECT_EQ(body_json(r)["value"], "3") << r.body;
    EXPECT_EQ(misses(h, "mock"), 1);
}

// The service's end tears the pools down before the providers: no process, cgroup, mount or
// temp dir of its sandboxes is left.
TEST_F(SandboxPoolsTest, TheEndOfTheServiceLeavesNothingBehind) {
    const auto before = enforcement::take_snapshot();
    {
        Harness h(with_pools({{"sh", process_pool({"/bin/sh"}, 3)}, {"true", process_pool({"/bin/true"}, 2)}}));
        ASSERT_TRUE(h.service->sandbox_pools()->wait_full(30s));
        auto r = h.call_json("POST", "/v1/executions", run_body({"/bin/sh", "-c", "setsid " + detached_sleep() + " & echo ok"}));
        EXPECT_EQ(body_json(r)["status"], "ok") << r.body;
        ASSERT_TRUE(h.service->sandbox_pools()->wait_full(30s));
        EXPECT_GT(enforcement::take_snapshot().children.size(), before.children.size());  // the pools' inits
    }
    const auto after = enforcement::take_snapshot();
    EXPECT_EQ(before.children, after.children) << "processes left behind";
    EXPECT_EQ(before.mounts, after.mounts) << "mounts left behind";
    EXPECT_EQ(before.cgroups, after.cgroups) << "cgroups left behind";
    EXPECT_EQ(before.temp_dirs, after.temp_dirs) << "temp dirs left behind";
    EXPECT_TRUE(enforcement::processes_with_marker(detached_sleep()).empty());
}

// The same through microvmd with gvisor (`runsc create` done ahead, `start` on a hit): each
// execution runs the request's own argv in a container no other ran in, and the service's end
// leaves no process, mount, cgroup or temp dir behind.
TEST_F(SandboxPoolsTest, AGvisorPoolServesHitsThatShareNothing) {
    MICROVM_REQUIRE("gvisor", provider_available("gvisor"), "the gvisor provider is unavailable here");
    const auto before = enforcement::take_snapshot();
    {
        json pool = process_pool({"/bin/sh"}, 1);
        pool["provider"] = "gvisor";
        Harness h(with_pools({{"gsh", pool}}));
        auto* pools = h.service->sandbox_pools();
        ASSERT_TRUE(pools->wait_full(60s)) << pools->last_error("gsh");
        json first = run_body({"/bin/sh", "-c", "echo planted > /tmp/planted; setsid sleep 60 & echo started"});
        first["provider"] = "gvisor";
        auto r1 = h.call_json("POST", "/v1/executions", first);
        ASSERT_EQ(body_json(r1)["status"], "ok") << r1.body;
        EXPECT_EQ(body_json(r1)["stdout"], "started\n");
        ASSERT_TRUE(pools->wait_full(60s)) << pools->last_error("gsh");
        json second = run_body({"/bin/sh", "-c",
                                "test -e /tmp/planted && echo file-present; "
                                "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done | grep -c '^sleep 60 $' || true"});
        second["provider"] = "gvisor";
        auto r2 = h.call_json("POST", "/v1/executions", second);
        ASSERT_EQ(body_json(r2)["status"], "ok") << r2.body;
        EXPECT_EQ(body_json(r2)["stdout"], "0\n") << r2.body;
        EXPECT_EQ(hits(h, "gsh"), 2);
        EXPECT_EQ(misses(h, "gsh"), 0);
    }
    const auto after = enforcement::take_snapshot();
    EXPECT_EQ(before.children, after.children) << "processes left behind";
    EXPECT_EQ(before.mounts, after.mounts) << "mounts left behind";
    EXPECT_EQ(before.cgroups, after.cgroups) << "cgroups left behind";
    EXPECT_EQ(before.temp_dirs, after.temp_dirs) << "temp dirs left behind";
}

// Sessions: after each exec, the session's next sandbox is built ahead, shaped like that exec,
// for that session alone.

// The second exec runs in the sandbox built for it (a hit of pool "sessions"): it sees the work
// directory as the first left it, and nothing else of the first (its /tmp, its processes).
TEST_F(SandboxPoolsTest, ASessionsNextExecRunsInASandboxBuiltForIt) {
    Harness h;
    const std::string id = create_session(h, {{"provider", "process"}});
    auto first = session_exec(h, id, {"/bin/sh", "-c", "echo kept > \"$MICROVM_SANDBOX_DIR/f\"; echo planted > /tmp/planted; setsid " + detached_sleep() + " & echo ok"});
    ASSERT_EQ(first["status"], "ok") << first.dump();
    EXPECT_EQ(h.metric("microvmd_pool_misses_total{pool=\"sessions\"}"), 0) << "the first exec had no sandbox to look at";
    ASSERT_TRUE(h.service->sandbox_pools()->wait_session_ready(id, 30s));
    auto second = session_exec(
        h, id,
        {"/bin/sh", "-c",
         "cat \"$MICROVM_SANDBOX_DIR/f\"; test -e /tmp/planted && echo file-present; "
         "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done | grep -c '^" + detached_sleep() + " $' || true"});
    ASSERT_EQ(second["status"], "ok") << second.dump();
    EXPECT_EQ(second["stdout"], "kept\n0\n") << second.dump();
    EXPECT_EQ(h.metric("microvmd_pool_hits_total{pool=\"sessions\"}"), 1);
    EXPECT_TRUE(enforcement::processes_with_marker(detached_sleep()).empty());
}

// A session's sandbox has the session's work directory bound writable: no one-shot execution
// may get it (one naming that directory in its own policy is refused up front: it lies in the
// daemon's state directory), nor another session's exec.
TEST_F(SandboxPoolsTest, ASessionsSandboxServesThatSessionAlone) {
    Harness h;
    const std::string id = create_session(h, {{"provider", "process"}});
    const std::string other = create_session(h, {{"provider", "process"}});
    ASSERT_EQ(session_exec(h, id, {"/bin/true"})["status"], "ok");
    ASSERT_TRUE(h.service->sandbox_pools()->wait_session_ready(id, 30s));
    const std::string work_dir = h.dir + "/state/sandboxes/" + id;
    ASSERT_TRUE(std::filesystem::is_directory(work_dir)) << work_dir;
    auto one_shot = h.call_json("POST", "/v1/executions",
                                {{"provider", "process"}, {"run", {"/bin/true"}}, {"fs_policy", "rw=" + work_dir}});
    EXPECT_EQ(one_shot.status, 400) << one_shot.body;
    EXPECT_EQ(session_exec(h, other, {"/bin/true"})["status"], "ok");
    EXPECT_EQ(h.metric("microvmd_pool_hits_total{pool=\"sessions\"}"), 0) << "another execution took the session's sandbox";
    EXPECT_TRUE(h.service->sandbox_pools()->wait_session_ready(id, 1ms)) << "the session's sandbox is gone";
    EXPECT_EQ(session_exec(h, id, {"/bin/true"})["status"], "ok");
    EXPECT_EQ(h.metric("microvmd_pool_hits_total{pool=\"sessions\"}"), 1);
}

// An exec of another program misses (the sandbox built for the last shape is torn down) and the
// next sandbox is built for the new shape; the session's end takes its sandbox with it.
TEST_F(SandboxPoolsTest, ASessionsSandboxFollowsItsExecsAndEndsWithIt) {
    const auto before = enforcement::take_snapshot();
    {
        Harness h;
        const std::string id = create_session(h, {{"provider", "process"}});
        ASSERT_EQ(session_exec(h, id, {"/bin/true"})["status"], "ok");
        ASSERT_TRUE(h.service->sandbox_pools()->wait_session_ready(id, 30s));
        ASSERT_EQ(session_exec(h, id, {"/bin/echo", "other"})["stdout"], "other\n");
        EXPECT_EQ(h.metric("microvmd_pool_misses_total{pool=\"sessions\"}"), 1);
        ASSERT_TRUE(h.service->sandbox_pools()->wait_session_ready(id, 30s));
        ASSERT_EQ(session_exec(h, id, {"/bin/echo", "again"})["stdout"], "again\n");
        EXPECT_EQ(h.metric("microvmd_pool_hits_total{pool=\"sessions\"}"), 1);
        ASSERT_TRUE(h.service->sandbox_pools()->wait_session_ready(id, 30s));
        EXPECT_GT(enforcement::take_snapshot().children.size(), before.children.size());  // its init
        EXPECT_EQ(h.call("DELETE", "/v1/sandboxes/" + id).status, 200);
        EXPECT_FALSE(h.service->sandbox_pools()->wait_session_ready(id, 1ms));
        auto settled = enforcement::eventually([&] { return enforcement::take_snapshot().children == before.children; }, 2s);
        EXPECT_TRUE(settled) << "the ended session's sandbox is still there";
    }
    const auto after = enforcement::take_snapshot();
    EXPECT_EQ(before.children, after.children) << "processes left behind";
    EXPECT_EQ(before.mounts, after.mounts) << "mounts left behind";
    EXPECT_EQ(before.cgroups, after.cgroups) << "cgroups left behind";
}

// A shape one provider cannot build ahead (an allow list: its egress proxy is each execution's
// own) leaves that session's next exec fresh, and no one else's.
TEST_F(SandboxPoolsTest, AShapeThatCannotBeBuiltAheadStaysItsOwn) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "allow lists on process need a root host");
    Harness h;
    const std::string a = create_session(h, {{"provider", "process"}});
    const std::string b = create_session(h, {{"provider", "process"}});
    auto listed = h.call_json("POST", "/v1/sandboxes/" + a + "/exec",
                              {{"run", {"/bin/true"}}, {"network_policy", "allow=example.com"}});
    ASSERT_EQ(body_json(listed)["status"], "ok") << listed.body;
    EXPECT_FALSE(h.service->sandbox_pools()->wait_session_ready(a, 500ms));
    ASSERT_EQ(session_exec(h, b, {"/bin/true"})["status"], "ok");
    ASSERT_TRUE(h.service->sandbox_pools()->wait_session_ready(b, 30s)) << "one session's shape disabled another's";
    ASSERT_EQ(session_exec(h, b, {"/bin/true"})["status"], "ok");
    EXPECT_EQ(h.metric("microvmd_pool_hits_total{pool=\"sessions\"}"), 1);
    EXPECT_EQ(h.metric("microvmd_pool_failures_total{pool=\"sessions\"}"), 0);
}

// A shape whose build fails is not retried on a timer (only after the session's next exec of
// it), and an exec that did not run (its program missing) leaves nothing to build.
TEST_F(SandboxPoolsTest, AFailedSessionBuildIsNotRetriedByItself) {
    Harness h;
    const std::string id = create_session(h, {{"provider", "process"}});
    EXPECT_EQ(session_exec(h, id, {"/nonexistent/program"})["error"]["reason"], "program_not_found");
    EXPECT_FALSE(h.service->sandbox_pools()->wait_session_ready(id, 300ms));
    EXPECT_EQ(h.metric("microvmd_pool_target{pool=\"sessions\"}"), -1) << "a refused exec's shape was kept";

    // The next build waits for a quiet moment: a one-shot `sleep` holds it off while the
    // program the session just ran is removed, so that the build fails.
    const std::string dir = make_temp_dir();
    ::chmod(dir.c_str(), 0755);
    const std::string prog = dir + "/prog";
    ASSERT_EQ(std::system(("cp /bin/true " + prog).c_str()), 0);
    std::thread busy([&] { h.call_json("POST", "/v1/executions", run_body({"/bin/sleep", "1.5"})); });
    for (int i = 0; i < 100 && h.metric("microvmd_active_executions{provider=\"process\"}") != 1; ++i)
        std::this_thread::sleep_for(20ms);
    ASSERT_EQ(session_exec(h, id, {prog})["status"], "ok");
    ::unlink(prog.c_str());
    busy.join();
    for (int i = 0; i < 250 && h.metric("microvmd_pool_failures_total{pool=\"sessions\"}") < 1; ++i)
        std::this_thread::sleep_for(20ms);
    ASSERT_EQ(h.metric("microvmd_pool_failures_total{pool=\"sessions\"}"), 1);
    std::this_thread::sleep_for(3500ms);  // the retry timer it had was 3 s
    EXPECT_EQ(h.metric("microvmd_pool_failures_total{pool=\"sessions\"}"), 1) << "retried by itself";
    microvm::host::remove_tree(dir);
}

// Sessions beyond max_session_sandboxes: the one unused longest gives its slot up; 0 keeps none.
TEST_F(SandboxPoolsTest, SessionSandboxesAreCapped) {
    Harness h([](microvm::service::ServiceOptions& o) { o.max_session_sandboxes = 1; });
    const std::string a = create_session(h, {{"provider", "process"}});
    const std::string b = create_session(h, {{"provider", "process"}});
    ASSERT_EQ(session_exec(h, a, {"/bin/true"})["status"], "ok");
    ASSERT_TRUE(h.service->sandbox_pools()->wait_session_ready(a, 30s));
    ASSERT_EQ(session_exec(h, b, {"/bin/true"})["status"], "ok");
    ASSERT_TRUE(h.service->sandbox_pools()->wait_session_ready(b, 30s));
    EXPECT_FALSE(h.service->sandbox_pools()->wait_session_ready(a, 1ms)) << "two sessions kept a sandbox";
    EXPECT_EQ(h.metric("microvmd_pool_target{pool=\"sessions\"}"), 1);

    Harness none([](microvm::service::ServiceOptions& o) { o.max_session_sandboxes = 0; });
    const std::string c = create_session(none, {{"provider", "process"}});
    ASSERT_EQ(session_exec(none, c, {"/bin/true"})["status"], "ok");
    EXPECT_FALSE(none.service->sandbox_pools()->wait_session_ready(c, 500ms));
}

// A session whose sandbox is ready does not keep the pools' thread awake: the whole test
// process switches context less than 200 times in a second (it was ~1000: a 1 ms timer).
TEST_F(SandboxPoolsTest, AReadySessionSandboxLeavesThePoolsThreadAsleep) {
    Harness h;
    const std::string id = create_session(h, {{"provider", "process"}});
    ASSERT_EQ(session_exec(h, id, {"/bin/true"})["status"], "ok");
    ASSERT_TRUE(h.service->sandbox_pools()->wait_session_ready(id, 30s));
    std::this_thread::sleep_for(300ms);  // the teardown of the exec's sandbox is done
    auto switches = [] {
        long total = 0;
        for (const auto& t : std::filesystem::directory_iterator("/proc/self/task")) {
            std::ifstream in(t.path() / "status");
            std::string line;
            while (std::getline(in, line))
                if (line.rfind("voluntary_ctxt_switches:", 0) == 0) total += std::atol(line.c_str() + 24);
        }
        return total;
    };
    const long before = switches();
    std::this_thread::sleep_for(1s);
    EXPECT_LT(switches() - before, 200);
}
