// RTFS programs on the wasm provider: the RTFS runtime compiled to wasm32-wasi (rtfs-guest.wasm)
// runs inside the engine, so the same policy bounds it as any module: values and error variants
// come back, capabilities go through the runtime context, http-fetch through the host import's
// network policy, files through the preopens, and time and memory through the engine's limits.
#include <chrono>
#include <filesystem>

#include "host/private_files.hpp"
#include "support/loopback_http.hpp"
#include "rtfs_guest_required.hpp"
#include "test_support.hpp"
#include "support/expectations.hpp"

namespace wasmtest {
namespace {

using microvm::FileSystemPolicy;
using microvm::NetworkPolicy;
using microvm::Status;
using namespace std::chrono_literals;

class WasmRtfsTest : public WasmTest {
  protected:
    void SetUp() override {
        WasmTest::SetUp();
        REQUIRE_RTFS_GUEST();
    }
    microvm::ExecutionContext rtfs(const std::string& source,
                                   rtfs::RuntimeContext rc = rtfs::RuntimeContext::pure()) {
        microvm::ExecutionContext ctx;
        ctx.program = microvm::RtfsSource{source};
        ctx.runtime_context = std::move(rc);
        return ctx;
    }
    microvm::ExecutionResult eval(const std::string& source,
                                  rtfs::RuntimeContext rc = rtfs::RuntimeContext::pure()) {
        return run(rtfs(source, std::move(rc)));
    }
};

TEST_F(WasmRtfsTest, EvaluatesAndMeasures) {
    auto r = eval("(+ 1 2)");
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.value, "3");
    EXPECT_EQ(r.metadata.isolation, microvm::Isolation::Wasm);
    EXPECT_GT(r.metadata.duration.count(), 0);
    ASSERT_TRUE(r.metadata.cpu_time);
    EXPECT_GT(r.metadata.cpu_time->count(), 0);
    ASSERT_TRUE(r.metadata.memory_peak_mb);
    EXPECT_GT(*r.metadata.memory_peak_mb, 1.0);  // the guest's linear memory, not the config
}

TEST_F(WasmRtfsTest, ProgramsSeeTheirArgsAndDataStructures) {
    auto ctx = rtfs("(let [[a b] *args*] {:sum (+ a b) :v (mapv inc [1 2 3])})");
    ctx.args = {"40", "2"};
    auto r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.value, "{:sum 42 :v [2 3 4]}");
}

// The guest's runtime is the same core: values of shared parts ([a a], 60 levels, built twice)
// hash and compare once a part, and case mapping is Unicode's (simple mapping).
TEST_F(WasmRtfsTest, SharedPartsAreWalkedOnceAndCaseMappingIsUnicode) {
    auto r = eval("(def d (reduce (fn [a _] [a a]) [1] (range 60))) "
                  "(def e (reduce (fn [a _] [a a]) [1] (range 60))) "
                  "[(count (set (conj (vec (range 20)) d e))) (= d e) (compare d e) "
                  " (string-upper \"école straße привет αω\") (string-lower \"ÉCOLE ΣΑΣ\")]");
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.value, "[21 true 0 \"ÉCOLE STRAßE ПРИВЕТ ΑΩ\" \"école σασ\"]");
}

TEST_F(WasmRtfsTest, ErrorsComeBackWithTheirVariant) {
    auto r = eval("(/ 1 0)");
    EXPECT_EQ(r.status, Status::RuntimeError) << describe(r);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->kind, "DivisionByZero");

    r = eval("(+ 1");
    EXPECT_EQ(r.status, Status::InvalidInput) << describe(r);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->kind, "ReadError");
    EXPECT_NE(r.error->message.find("1:1"), std::string::npos) << r.error->message;

    r = eval("(throw {:type :boom})");
    EXPECT_EQ(r.status, Status::RuntimeError) << describe(r);
    EXPECT_FALSE(r.value.has_value());
}

TEST_F(WasmRtfsTest, CapabilitiesFollowTheRuntimeContext) {
    auto r = eval("(println \"hello from wasm\")");
    EXPECT_EQ(r.status, Status::PolicyViolation) << describe(r);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->kind, "SecurityViolation");
    EXPECT_NE(r.error->message.find("ccos.io.println"), std::string::npos) << r.error->message;
    EXPECT_EQ(r.metadata.stdout_data, "");

    r = eval("(println \"hello from wasm\")", rtfs::RuntimeContext::controlled({"ccos.io.println"}));
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data, "hello from wasm\n");
}

TEST_F(WasmRtfsTest, EnvironmentIsOnlyTheConfiguredVariables) {
    auto ctx = rtfs("[(get-env \"GREETING\") (get-env \"HOME\")]", rtfs::RuntimeContext::full());
    ctx.config.env_vars = {{"GREETING", "hi"}};
    auto r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.value, "[\"hi\" nil]");
}

TEST_F(WasmRtfsTest, InfiniteLoopTimesOut) {
    auto ctx = rtfs("(loop [i 0] (recur (inc i)))");
    ctx.config.timeout = 300ms;
    const auto started = std::chrono::steady_clock::now();
    auto r = run(ctx);
    const auto took = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(r.status, Status::Timeout) << describe(r);
    EXPECT_LT(took, 3s);
    EXPECT_GE(r.metadata.duration, 250ms);
}

TEST_F(WasmRtfsTest, MemoryLimitStopsAGrowingProgram) {
    auto ctx = rtfs("(loop [v [] i 0] (recur (conj v (vec (range 1000))) (inc i)))");
    ctx.config.memory_limit_mb = 48;
    ctx.config.timeout = 60s;
    auto r = run(ctx);
    EXPECT_EQ(r.status, Status::MemoryExceeded) << describe(r);
    ASSERT_TRUE(r.metadata.memory_peak_mb);
    EXPECT_LE(*r.metadata.memory_peak_mb, 48.0);
}

TEST_F(WasmRtfsTest, DeepRecursionEndsCleanly) {
    auto r = eval("(defn f [n] (if (= n 0) 0 (+ 1 (f (- n 1))))) (f 10000)");
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.value, "10000");
    r = eval("(defn g [n] (+ 1 (g n))) (g 1)");
    EXPECT_EQ(r.status, Status::RuntimeError) << describe(r);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->kind, "RecursionLimit");
}

// The host process's private files (host/private_files.hpp; microvmd's tokens, settings, audit
// log and state) are never handed over, made or truncated, whatever a preopen covers: under fs
// full a wasm program read every client's token, and an O_TRUNC open emptied the token file
// before its refusal (red team, 2026-12-06). A directory inside one, granted as a preopen (a
// session's work directory), stays usable.
TEST_F(WasmRtfsTest, TheHostProcesssPrivateFilesAreNotHandedOverNorChanged) {
    TempDir dir;
    std::filesystem::create_directories(dir.path() / "state" / "work");
    write_file(dir.path() / "tokens", "t:secret\n");
    write_file(dir.path() / "state" / "work" / "mine.txt", "mine");
    write_file(dir.path() / "open.txt", "open");
    microvm::host::keep_private((dir.path() / "tokens").string());
    microvm::host::keep_private((dir.path() / "state").string());
    const auto full = rtfs::RuntimeContext::full();
    auto under_full = [&](const std::string& source) {
        auto ctx = rtfs(source, full);
        ctx.config.fs_policy = FileSystemPolicy::full();
        return run(ctx);
    };
    const std::string d = dir.path().string();
    auto r = under_full("(read-file \"" + d + "/open.txt\")");
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    for (const std::string& secret : {d + "/tokens", d + "/state/work/mine.txt"}) {
        r = under_full("(read-file \"" + secret + "\")");
        EXPECT_EQ(r.status, Status::RuntimeError) << secret << describe(r);
    }
    for (const std::string& target : {d + "/tokens", d + "/tokens.7", d + "/state/planted"}) {
        r = under_full("(write-file \"" + target + "\" \"\")");
        EXPECT_EQ(r.status, Status::RuntimeError) << target << describe(r);
    }
    EXPECT_EQ(read_file(dir.path() / "tokens"), "t:secret\n");
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "tokens.7"));
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "state" / "planted"));
    // Granted as such, the directory inside the private one is the program's.
    auto ctx = rtfs("(read-file \"" + d + "/state/work/mine.txt\")", full);
    ctx.config.fs_policy = FileSystemPolicy::read_write({d + "/state/work"});
    r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.value, "\"mine\"");
}

TEST_F(WasmRtfsTest, FilesFollowThePreopens) {
    TempDir dir;
    write_file(dir.path() / "in.txt", "data");
    const std::string in = (dir.path() / "in.txt").string();
    const std::string out = (dir.path() / "out.txt").string();
    const auto full = rtfs::RuntimeContext::full();

    auto ctx = rtfs("(read-file \"" + in + "\")", full);
    auto r = run(ctx);  // fs none: nothing is preopened
    EXPECT_EQ(r.status, Status::RuntimeError) << describe(r);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->kind, "CapabilityError");
    EXPECT_NE(r.error->message.find("Capabilities insufficient"), std::string::npos)
        << r.error->message;

    ctx.config.fs_policy = FileSystemPolicy::read_only({dir.path().string()});
    r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.value, "\"data\"");
    ASSERT_FALSE(r.metadata.file_operations.empty());
    EXPECT_EQ(r.metadata.file_operations.back().operation, "read");

    // Outside the preopen, through .., and writing to a read-only grant: all fail.
    for (const std::string& escape :
         {std::string("(read-file \"/etc/hostname\")"),
          "(read-file \"" + dir.path().string() + "/../../etc/hostname\")",
          "(write-file \"" + out + "\" \"x\")"}) {
        auto e = rtfs(escape, full);
        e.config.fs_policy = FileSystemPolicy::read_only({dir.path().string()});
        auto refused = run(e);
        EXPECT_EQ(refused.status, Status::RuntimeError) << escape << ": " << describe(refused);
        ASSERT_TRUE(refused.error) << escape;
        EXPECT_NE(refused.error->message.find("Capabilities insufficient"), std::string::npos)
            << escape << ": " << refused.error->message;
    }
    EXPECT_FALSE(std::filesystem::exists(out));

    auto w = rtfs("(write-file \"" + out + "\" \"written\")", full);
    w.config.fs_policy = FileSystemPolicy::read_write({dir.path().string()});
    r = run(w);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(read_file(out), "written");
}

TEST_F(WasmRtfsTest, HttpFetchFollowsTheNetworkPolicyAndIsRecorded) {
    testsupport::LoopbackHttp server([](httplib::Server& s) {
        s.Get("/ping", [](const httplib::Request&, httplib::Response& res) {
            res.set_content("pong", "text/plain");
        });
    });
    const auto full = rtfs::RuntimeContext::full();
    auto ctx = rtfs("(:body (http-fetch \"" + server.url("/ping") + "\"))", full);

    ctx.config.network_policy = NetworkPolicy::allow({"127.0.0.1"});
    auto r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.value, "\"pong\"");
    EXPECT_EQ(server.hits(), 1);
    ASSERT_EQ(r.metadata.network_requests.size(), 2u);  // the fetch, then the proxy's connection
    EXPECT_EQ(r.metadata.network_requests[1].allowed, true);
    EXPECT_EQ(r.metadata.network_requests[0].url, server.url("/ping"));
    EXPECT_EQ(r.metadata.network_requests[0].status, 200);

    for (const NetworkPolicy& refused :
         {NetworkPolicy::denied(), NetworkPolicy::allow({"example.com"}),
          NetworkPolicy::deny({"127.0.0.1"})}) {
        ctx.config.network_policy = refused;
        r = run(ctx);
        EXPECT_EQ(r.status, Status::PolicyViolation) << describe(r);
        ASSERT_TRUE(r.error);
        EXPECT_EQ(r.error->kind, "SecurityViolation");
        ASSERT_EQ(r.metadata.network_requests.size(), 1u);  // the refused attempt is recorded
        EXPECT_FALSE(r.metadata.network_requests[0].error.empty());
    }
    EXPECT_EQ(server.hits(), 1);
}

}  // namespace
}  // namespace wasmtest
