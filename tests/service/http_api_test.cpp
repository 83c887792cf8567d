// The API over a real Unix socket and loopback TCP: every endpoint, auth, streaming order,
// client disconnects, admission, size limits, slow and garbage clients.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <random>
#include <thread>

#include "harness.hpp"
#include "support/expectations.hpp"
#include "support/loopback_http.hpp"

using namespace svctest;
using nlohmann::json;
using namespace std::chrono_literals;

#define REQUIRE_PROCESS() \
    MICROVM_REQUIRE("process", provider_available("process"), "the process provider is unavailable here")

namespace {

// A mock execution that loops until its timeout, running (the only slot, when the admission
// allows one) once this returns; join the thread.
std::thread occupy_mock(const Harness& h, const std::string& timeout) {
    std::thread busy([&h, timeout] {
        h.call_json("POST", "/v1/executions", {{"provider", "mock"}, {"eval", "(loop [] (recur))"}, {"timeout", timeout}});
    });
    for (int i = 0; i < 100 && h.metric("microvmd_active_executions{provider=\"mock\"}") != 1; ++i)
        std::this_thread::sleep_for(20ms);
    return busy;
}

}  // namespace

TEST(HttpApi, UnixSocketIsPrivate) {
    Harness h;
    struct stat st {};
    ASSERT_EQ(::lstat(h.socket_path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(st.st_uid, ::geteuid());
}

TEST(HttpApi, HealthProvidersMetrics) {
    Harness h;
    auto health = h.call("GET", "/healthz");
    EXPECT_EQ(health.status, 200);
    EXPECT_EQ(body_json(health)["status"], "ok");
    auto providers = body_json(h.call("GET", "/v1/providers"));
    bool mock = false;
    for (const auto& p : providers["providers"])
        if (p["name"] == "mock") mock = p["available"].get<bool>();
    EXPECT_TRUE(mock) << providers.dump();
    auto m = h.call("GET", "/metrics");
    EXPECT_EQ(m.status, 200);
    EXPECT_NE(m.headers["content-type"].find("text/plain"), std::string::npos);
    EXPECT_NE(m.body.find("# TYPE microvmd_executions_total counter"), std::string::npos);
    EXPECT_EQ(h.call("GET", "/nope").status, 404);
    EXPECT_EQ(body_json(h.call("GET", "/nope"))["error"]["code"], "not_found");
}

TEST(HttpApi, EvalOnMockReturnsTheJsonResultDocument) {
    Harness h;
    auto r = h.call_json("POST", "/v1/executions", {{"provider", "mock"}, {"eval", "(+ 1 2)"}});
    ASSERT_EQ(r.status, 200) << r.body;
    auto doc = body_json(r);
    EXPECT_EQ(doc["status"], "ok");
    EXPECT_EQ(doc["value"], "3");
    EXPECT_EQ(doc["provider"], "mock");
    for (const char* k : {"execution_id", "exit_code", "signal", "stdout", "stderr", "stdout_truncated",
                          "stderr_truncated", "error", "metadata"})
        EXPECT_TRUE(doc.contains(k)) << k;
    EXPECT_TRUE(doc["metadata"].contains("duration_ms"));
    EXPECT_EQ(r.body.rfind("{\"execution_id\":", 0), 0u) << r.body;  // the keys in --json's order
    EXPECT_EQ(h.metric("microvmd_executions_total{provider=\"mock\",status=\"ok\"}"), 1);
}

TEST(HttpApi, PolicyIsEnforcedNotEchoed) {
    Harness h;
    // The mock evaluator honours the timeout: an endless loop ends as a timeout, measured.
    auto r = h.call_json("POST", "/v1/executions",
                         {{"provider", "mock"}, {"eval", "(loop [] (recur))"}, {"timeout", "300ms"}});
    ASSERT_EQ(r.status, 200) << r.body;
    auto doc = body_json(r);
    EXPECT_EQ(doc["status"], "timeout") << r.body;
    EXPECT_GE(doc["metadata"]["duration_ms"].get<double>(), 250);
}

TEST(HttpApi, RunOnProcessWithNetworkDenied) {
    REQUIRE_PROCESS();
    Harness h;
    auto r = h.call_json("POST", "/v1/executions",
                         {{"provider", "process"}, {"run", {"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}}});
    ASSERT_EQ(r.status, 200) << r.body;
    auto doc = body_json(r);
    EXPECT_EQ(doc["stdout"], "out\n");
    EXPECT_EQ(doc["stderr"], "err\n");
    EXPECT_EQ(doc["exit_code"], 3);
    // The memory limit given in the request is the one enforced.
    auto mem = h.call_json("POST", "/v1/executions",
                           {{"provider", "process"}, {"memory_limit_mb", 32}, {"fs_policy", "ro"},
                            {"run", {"/bin/sh", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo done"}}});
    ASSERT_EQ(mem.status, 200);
    EXPECT_EQ(body_json(mem)["status"], "memory_exceeded") << mem.body;
}

TEST(HttpApi, BadRequestsAreClear400s) {
    Harness h;
    struct Case {
        std::string body;
        std::string code;
        std::string mentions;
    };
    for (const Case& c : std::vector<Case>{
             {"{not json", "bad_json", "JSON"},
             {"[]", "bad_request", "object"},
             {R"({"provider":"mock"})", "bad_request", "eval"},
             {R"({"provider":"mock","eval":"1","run":["/bin/true"]})", "bad_request", "exactly one"},
             {R"({"provider":"nope","eval":"1"})", "unknown_provider", "nope"},
             {R"({"provider":"mock","eval":"1","timeout":30})", "bad_request", "timeout"},
             {R"({"provider":"mock","eval":"1","stream":"yes"})", "bad_request", "stream"},
             {R"({"provider":"mock","eval":"1","bogus":1})", "bad_request", "bogus"},
             {R"({"provider":7,"eval":"1"})", "bad_request", "provider"}}) {
        auto r = h.call("POST", "/v1/executions", c.body);
        EXPECT_EQ(r.status, 400) << c.body << " -> " << r.body;
        auto j = body_json(r);
        EXPECT_EQ(j["error"]["code"], c.code) << c.body;
        EXPECT_NE(j["error"]["message"].get<std::string>().find(c.mentions), std::string::npos) << r.body;
    }
    EXPECT_EQ(h.call("GET", "/healthz").status, 200);
}

TEST(HttpApi, GarbageNeverCrashesTheServer) {
    Harness h;
    std::mt19937 rng(1234);
    for (int i = 0; i < 200; ++i) {
        std::string junk(rng() % 2000, '\0');
        for (auto& ch : junk) ch = static_cast<char>(rng());
        if (i % 3 == 0) {
            // Garbage as the body of a well-formed request.
            auto r = h.call("POST", "/v1/executions", junk);
            EXPECT_TRUE(r.status == 400 || r.status == 413) << r.status;
        } else if (i % 3 == 1) {
            // Garbage as the request itself.
            int fd = connect_unix(h.socket_path);
            send_all(fd, junk + "\r\n\r\n");
            read_reply(fd, 5s);
            ::close(fd);
        } else {
            // JSON of the wrong shapes.
            json j = {{"provider", "mock"}, {"eval", "1"}};
            const char* keys[] = {"timeout", "env_vars", "fs_policy", "network_policy", "capabilities", "run"};
            j[keys[rng() % 6]] = json::parse("[1,{\"a\":[null,true]},\"x\"]");
            auto r = h.call("POST", "/v1/executions", j.dump());
            EXPECT_EQ(r.status, 400) << j.dump() << " " << r.body;
        }
    }
    EXPECT_EQ(h.call("GET", "/healthz").status, 200);
}

TEST(HttpApi, TcpRequiresTheBearerToken) {
    Harness h;
    auto missing = h.call_tcp("GET", "/v1/providers", "", "");
    EXPECT_EQ(missing.status, 401);
    EXPECT_EQ(missing.headers["www-authenticate"], "Bearer");
    EXPECT_EQ(h.call_tcp("GET", "/v1/providers", "", "wrong-token-0123456789").status, 401);
    EXPECT_EQ(h.call_tcp("GET", "/v1/providers", "", kToken + "x").status, 401);
    EXPECT_EQ(h.call_tcp("GET", "/v1/providers").status, 200);
    auto run = h.call_tcp("POST", "/v1/executions", R"J({"provider":"mock","eval":"(* 6 7)"})J");
    EXPECT_EQ(run.status, 200);
    EXPECT_EQ(body_json(run)["value"], "42");
    // An unauthenticated execution does not run.
    EXPECT_EQ(h.call_tcp("POST", "/v1/executions", R"({"provider":"mock","eval":"1"})", "").status, 401);
    EXPECT_EQ(h.metric("microvmd_executions_total{provider=\"mock\",status=\"ok\"}"), 1);
    // Liveness is open (load balancers probe it).
    EXPECT_EQ(h.call_tcp("GET", "/healthz", "", "").status, 200);
    // A client that waits for "100 Continue" before its body is refused instead of invited.
    int fd = connect_tcp(h.tcp_port);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(send_all(fd, "POST /v1/executions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                             "Content-Length: 30\r\n\r\n"));
    Reader in(fd, 30s);
    std::string line;
    ASSERT_TRUE(in.line(line));
    ::close(fd);
    EXPECT_EQ(line.substr(0, 12), "HTTP/1.1 401") << line;
}

TEST(HttpApi, OversizeBodiesAre413AndTheServerKeepsServing) {
    Harness h([](microvm::service::ServiceOptions& o) { o.max_request_bytes = 4096; });
    auto r = h.call("POST", "/v1/executions", std::string(10000, ' '));
    EXPECT_EQ(r.status, 413);
    EXPECT_EQ(body_json(r)["error"]["code"], "too_large");
    // A huge announced length is refused before any of it is read.
    int fd = connect_unix(h.socket_path);
    send_all(fd, "POST /v1/executions HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n");
    EXPECT_EQ(read_reply(fd, 5s).status, 413);
    ::close(fd);
    // Without a length (chunked), measured once read.
    fd = connect_unix(h.socket_path);
    std::string chunk(8000, ' ');
    char size[16];
    std::snprintf(size, sizeof size, "%zx", chunk.size());
    send_all(fd, "POST /v1/executions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                     std::string(size) + "\r\n" + chunk + "\r\n0\r\n\r\n");
    EXPECT_EQ(read_reply(fd, 5s).status, 413);
    ::close(fd);
    EXPECT_EQ(h.call("GET", "/healthz").status, 200);
}

// A chunked body is cut at its limit while it arrives: the 413 comes before the client has sent
// 16 MiB against a 64 KiB limit (httplib alone would read it all, then refuse it).
TEST(HttpApi, AChunkedBodyIsCutWhileItArrives) {
    Harness h([](microvm::service::ServiceOptions& o) { o.max_request_bytes = 64 << 10; });
    int fd = connect_unix(h.socket_path);
    ASSERT_TRUE(send_all(fd, "POST /v1/executions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
    const std::string chunk = "4000\r\n" + std::string(0x4000, ' ') + "\r\n";
    size_t sent = 0;
    bool answered = false;
    while (sent < (16u << 20)) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 0) > 0) {
            answered = true;
            break;
        }
        if (::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL) <= 0) break;  // closed under us
        sent += chunk.size();
    }
    auto r = read_reply(fd, 10s);
    ::close(fd);
    EXPECT_EQ(r.status, 413) << r.body;
    EXPECT_TRUE(answered || sent < (16u << 20)) << "the whole body was read before the refusal";
    EXPECT_LT(sent, 4u << 20) << "sent " << sent << " bytes before the refusal";
    for (int i = 0; i < 100 && h.metric("microvmd_request_body_bytes_held") != 0; ++i)
        std::this_thread::sleep_for(20ms);  // the connection's thread ends after its answer
    EXPECT_EQ(h.metric("microvmd_request_body_bytes_held"), 0);
    EXPECT_EQ(h.call("GET", "/healthz").status, 200);
}

// Framing a proxy in front could read differently (request smuggling), or that httplib would read
// without a bound, is refused before the body and the connection closed: nothing after it on
// the connection is served. Ranges: only one, of a file download (httplib builds every part of a
// multi-range answer in memory: a few bytes of request for megabytes of answer, without a token).
TEST(HttpApi, AmbiguousFramingAndRangesAreRefused) {
    Harness h;
    const std::string inner = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    struct Case {
        const char* what;
        std::string request;
        int status;
    };
    const std::vector<Case> cases = {
        {"length and chunked", "POST /v1/executions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
        {"another encoding", "POST /v1/executions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 400},
        {"length twice", "POST /v1/executions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}", 400},
        {"a POST without a length", "POST /v1/executions HTTP/1.1\r\nHost: x\r\n\r\n{}", 411},
        {"a GET with a body", "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(inner.size()) + "\r\n\r\n", 400},
        {"many ranges", "GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\nRange: bytes=0-,0-,0-,0-\r\n\r\n", 416},
        {"a range of a JSON document", "GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\nRange: bytes=0-10\r\n\r\n", 416},
        // Red team, 2026-12-07: httplib read these bodies to the end of the connection, unbounded.
        {"a PATCH without a length", "PATCH /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 405},
        {"a PRI without a length", "PRI /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 405},
        {"an OPTIONS", "OPTIONS /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 405},
        // ... and after one of its own errors went on parsing the rest of the request: a header
        // line over its 8 KiB limit, then a body that is a whole request (which a proxy allowing
        // longer lines forwards as one request's body).
        {"a header line over httplib's limit",
         "POST /v1/executions HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(9000, 'A') +
             "\r\nContent-Length: " + std::to_string(inner.size()) + "\r\n\r\n",
         400},
        {"a signed length", "POST /v1/executions HTTP/1.1\r\nHost: x\r\nContent-Length: +2\r\n\r\n{}", 400},
        {"a length with a suffix", "POST /v1/executions HTTP/1.1\r\nHost: x\r\nContent-Length: 2x\r\n\r\n{}", 400},
        {"a malformed request line", "GET  /healthz HTTP/1.1 x\r\nHost: x\r\n\r\n", 400},
        // A chunked body's end is where httplib says: a trailer or a bare LF, which a proxy may
        // read otherwise. The connection ends with a chunked request.
        {"a chunked body with a trailer",
         "POST /v1/executions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nX-Trace: 1\r\n\r\n", 400},
        {"a chunk ended by a bare LF",
         "POST /v1/executions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\n0\r\n\r\n", 400},
        {"a well-formed chunked body",
         "POST /v1/executions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 400},
    };
    for (const auto& c : cases) {
        int fd = connect_unix(h.socket_path);
        ASSERT_TRUE(send_all(fd, c.request + inner));  // then a request that must not be served
        const std::string all = Reader(fd, 10s).rest();
        ::close(fd);
        EXPECT_EQ(all.substr(0, 12), "HTTP/1.1 " + std::to_string(c.status)) << c.what << ": " << all;
        EXPECT_EQ(all.find("HTTP/1.1", 1), std::string::npos) << c.what << ": a second answer: " << all;
        EXPECT_LT(all.size(), 4096u) << c.what;
    }
    EXPECT_EQ(h.call("GET", "/healthz").status, 200);
}

TEST(HttpApi, SlowHeadersAreCutAtTheRequestTimeout) {
    microvm::service::FrontendOptions f;
    f.request_timeout = 1000ms;
    f.max_connections = 4;
    Harness h(nullptr, f);
    // Four slowloris clients, each dripping a header forever.
    std::vector<int> slow;
    for (int i = 0; i < 4; ++i) {
        slow.push_back(connect_unix(h.socket_path));
        send_all(slow.back(), "GET /healthz HTTP/1.1\r\nX-Slow: ");
    }
    auto start = std::chrono::steady_clock::now();
    for (int k = 0; k < 3; ++k) {
        std::this_thread::sleep_for(300ms);
        for (int fd : slow) send_all(fd, "a");
    }
    // Each was dropped at its deadline despite dripping (a 400 at most, never served).
    for (int fd : slow) {
        auto r = read_reply(fd, 10s);
        EXPECT_TRUE(r.status == 0 || r.status == 400) << r.status;
        ::close(fd);
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, 8s);
    // And the slots they held are free again.
    EXPECT_EQ(h.call("GET", "/healthz").status, 200);
}

TEST(HttpApi, OverTheConcurrencyLimitIs429WithRetryAfter) {
    Harness h([](microvm::service::ServiceOptions& o) { o.admission = {1, 0}; });
    std::thread busy = occupy_mock(h, "2s");
    auto r = h.call_json("POST", "/v1/executions", {{"provider", "mock"}, {"eval", "1"}});
    EXPECT_EQ(r.status, 429) << r.body;
    EXPECT_EQ(r.headers["retry-after"], "1");
    EXPECT_EQ(body_json(r)["error"]["code"], "busy");
    busy.join();
    // The slot goes back once the reply is sent, a moment after its client can have read it (a
    // CI run under load saw the next request refused): a client that honours Retry-After is
    // served.
    int status = 0;
    for (auto until = std::chrono::steady_clock::now() + 3s; std::chrono::steady_clock::now() < until;) {
        status = h.call_json("POST", "/v1/executions", {{"provider", "mock"}, {"eval", "1"}}).status;
        if (status != 429) break;
        std::this_thread::sleep_for(50ms);
    }
    EXPECT_EQ(status, 200);
}

TEST(HttpApi, StreamingDeliversOutputAsItHappensThenTheResult) {
    REQUIRE_PROCESS();
    Harness h;
    int fd = connect_unix(h.socket_path);
    json body = {{"provider", "process"}, {"stream", true}, {"fs_policy", "ro"},
                 {"run", {"/bin/sh", "-c", "echo first; sleep 1; echo second >&2; sleep 0.2; echo third"}}};
    send_all(fd, request_text("POST", "/v1/executions", body.dump()));
    std::vector<std::pair<json, std::chrono::steady_clock::time_point>> events;
    std::string pending;
    auto r = read_reply(fd, 30s, [&](const std::string& piece) {
        pending += piece;
        size_t nl;
        while ((nl = pending.find('\n')) != std::string::npos) {
            events.emplace_back(json::parse(pending.substr(0, nl)), std::chrono::steady_clock::now());
            pending.erase(0, nl + 1);
        }
    });
    ::close(fd);
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.headers["content-type"], "application/x-ndjson");
    ASSERT_GE(events.size(), 4u) << r.body;
    EXPECT_EQ(events[0].first["event"], "stdout");
    EXPECT_EQ(events[0].first["data"], "first\n");
    EXPECT_EQ(events[1].first["event"], "stderr");
    EXPECT_EQ(events[1].first["data"], "second\n");
    EXPECT_EQ(events[2].first["data"], "third\n");
    EXPECT_EQ(events.back().first["event"], "result");
    EXPECT_EQ(events.back().first["result"]["stdout"], "first\nthird\n");
    // The first line came while the program still ran, not with the result.
    EXPECT_GT(events.back().second - events[0].second, 700ms);
}

// A process run of `sh -c script`, streamed or not, from a client with a small receive buffer
// that has not read yet: its socket.
static int start_unread_run(const Harness& h, const std::string& timeout, const std::string& script,
                            bool stream = true) {
    int fd = connect_unix(h.socket_path);
    const int small = 4096;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    json body = {{"provider", "process"}, {"stream", stream}, {"fs_policy", "ro"}, {"timeout", timeout},
                 {"run", {"/bin/sh", "-c", script}}};
    send_all(fd, request_text("POST", "/v1/executions", body.dump()));
    return fd;
}

// A streamed run is stopped at its deadline however slowly its client reads: the capture wrote
// each line to the client itself, and while a client that did not read held that write, a
// program's spinning child ran on, up to the write timeout (10 s) past a 3 s deadline (red team,
// 2026-12-04). The output now leaves from a thread of its own (output_relay.hpp).
TEST(HttpApi, AStreamedRunStopsAtItsDeadlineHoweverSlowlyItsClientReads) {
    REQUIRE_PROCESS();
    Harness h;
    const int fd = start_unread_run(h, "1s", "(while :; do :; done) & head -c 4000000 /dev/zero | tr '\\0' x; wait");
    std::this_thread::sleep_for(6s);  // not reading
    std::string pending;
    json result;
    auto r = read_reply(fd, 60s, [&](const std::string& piece) {
        pending += piece;
        size_t nl;
        while ((nl = pending.find('\n')) != std::string::npos) {
            json event = json::parse(pending.substr(0, nl), nullptr, false);
            if (event.is_object() && event.value("event", "") == "result") result = event["result"];
            pending.erase(0, nl + 1);
        }
    });
    ::close(fd);
    ASSERT_EQ(r.status, 200);
    ASSERT_TRUE(result.is_object()) << "no result event";
    EXPECT_EQ(result["status"], "timeout") << result.dump().substr(0, 400);
    EXPECT_LT(result["metadata"]["duration_ms"].get<double>(), 4000) << "the run outlived its deadline";
}

// A streamed reply's client has reply_drain_time, once the run has ended, to take the rest;
// then the connection is shut down and the run's slot goes back: a client reading slowly held
// the provider's only slot as long as it kept reading (another client got nothing for 30 s; red
// team, 2026-12-04). The slot stays with the reply until then, so that what slow readers hold
// (the result repeats the output) stays bounded by the concurrency.
TEST(HttpApi, ASlowReaderHoldsTheSlotOfARunThatEndedAtMostTheDrainTime) {
    REQUIRE_PROCESS();
    microvm::service::FrontendOptions f;
    f.reply_drain_time = 1s;
    f.write_timeout = 60s;  // the drain time, not a client that takes nothing, ends it
    Harness h([](microvm::service::ServiceOptions& o) { o.admission = {1, 0}; }, f);
    const int fd = start_unread_run(h, "20s", "head -c 200000 /dev/zero | tr '\\0' x");
    // The program ends at once and its client never reads: the slot is held for the drain time
    // (1 s, and a second per 256 KiB of what is left: about 6 s here), then goes back.
    const auto start = std::chrono::steady_clock::now();
    std::vector<int> statuses;
    while (std::chrono::steady_clock::now() - start < 15s) {
        std::this_thread::sleep_for(500ms);
        statuses.push_back(
            h.call_json("POST", "/v1/executions", {{"provider", "process"}, {"fs_policy", "ro"}, {"run", {"/bin/true"}}}).status);
        if (statuses.back() == 200) break;
    }
    ::close(fd);
    ASSERT_FALSE(statuses.empty());
    EXPECT_EQ(statuses.front(), 429) << "the slot went back before the reply was taken";
    EXPECT_EQ(statuses.back(), 200) << "the slot was still held 15 s after the run";
}

// A whole (not streamed) reply likewise: its run's slot is held until the reply is gone, and the
// client has reply_drain_time to take it, however steadily it reads; then the connection is shut
// down. Before, the slot went back when the run ended and each write waited up to the write
// timeout for the client, so a client taking a few KiB a second held its reply (the output,
// twice in the JSON) for as long as it pleased, and any number of them piled up.
TEST(HttpApi, AWholeReplyHoldsItsSlotAndIsCutAtTheDrainTimeHoweverSteadilyItIsRead) {
    REQUIRE_PROCESS();
    microvm::service::FrontendOptions f;
    f.reply_drain_time = 1s;
    Harness h([](microvm::service::ServiceOptions& o) { o.admission = {1, 0}; }, f);
    const int fd = start_unread_run(h, "20s", "head -c 600000 /dev/zero | tr '\\0' x", /*stream=*/false);
    const std::string ended = "microvmd_executions_total{provider=\"process\",status=\"ok\"}";
    for (int i = 0; i < 500 && h.metric(ended) != 1; ++i) std::this_thread::sleep_for(20ms);
    ASSERT_EQ(h.metric(ended), 1) << "the run did not end";
    const auto run_ended = std::chrono::steady_clock::now();
    auto during = h.call_json("POST", "/v1/executions", {{"provider", "process"}, {"fs_policy", "ro"}, {"run", {"/bin/true"}}});
    EXPECT_EQ(during.status, 429) << "the slot went back before the reply was taken: " << during.body;
    // 4 KiB every 200 ms: never a pause near the write timeout, 30 s for the whole reply. The
    // drain time is 1 s and a second per 256 KiB of the reply (about 3 s here); what the socket
    // holds by then (some 200 KB) still arrives before the end.
    size_t taken = 0;
    bool closed = false;
    char buf[4096];
    while (!closed && std::chrono::steady_clock::now() - run_ended < 20s) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) > 0) {
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) closed = true;
            else taken += static_cast<size_t>(n);
        }
        std::this_thread::sleep_for(100ms);
    }
    ::close(fd);
    EXPECT_TRUE(closed) << "still being sent 20 s after the run ended (" << taken << " bytes taken)";
    EXPECT_LT(taken, 600000u);
    auto after = h.call_json("POST", "/v1/executions", {{"provider", "process"}, {"fs_policy", "ro"}, {"run", {"/bin/true"}}});
    EXPECT_EQ(after.status, 200) << after.body;
}

// The drain time grows with the reply, a second per 256 KiB (2 Mbit/s): a fixed 30 s cut a
// client reading a 10 MB result at 200 KB/s (red team, 2026-12-05). Here a 1 MB reply whose
// client starts reading 2 s after the run, past the 1 s base, still arrives whole.
TEST(HttpApi, AReplyLargerThanTheBaseDrainTimeCoversArrivesWhole) {
    REQUIRE_PROCESS();
    microvm::service::FrontendOptions f;
    f.reply_drain_time = 1s;
    Harness h(nullptr, f);
    const int fd = start_unread_run(h, "20s", "head -c 1000000 /dev/zero | tr '\\0' x", /*stream=*/false);
    std::this_thread::sleep_for(2500ms);
    auto r = read_reply(fd, 30s);
    ::close(fd);
    ASSERT_EQ(r.status, 200);
    auto doc = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(doc.is_object()) << "a reply cut short: " << r.body.size() << " bytes";
    EXPECT_EQ(doc["stdout"].get<std::string>().size(), 1000000u);
}

TEST(HttpApi, AClientThatDisconnectsCancelsItsExecution) {
    REQUIRE_PROCESS();
    Harness h;
    for (bool stream : {true, false}) {
        int fd = connect_unix(h.socket_path);
        json body = {{"provider", "process"}, {"stream", stream}, {"fs_policy", "ro"}, {"run", {"/bin/sh", "-c", "echo started; sleep 60"}}};
        send_all(fd, request_text("POST", "/v1/executions", body.dump()));
        if (stream) {
            Reader in(fd, 30s);
            std::string line;
            while (in.line(line) && line.find("started") == std::string::npos) {
            }
        } else {
            for (int i = 0; i < 200 && h.metric("microvmd_active_executions{provider=\"process\"}") != 1; ++i)
                std::this_thread::sleep_for(20ms);
        }
        auto gone_at = std::chrono::steady_clock::now();
        ::close(fd);
        for (int i = 0; i < 300 && h.metric("microvmd_active_executions{provider=\"process\"}") != 0; ++i)
            std::this_thread::sleep_for(20ms);
        EXPECT_EQ(h.metric("microvmd_active_executions{provider=\"process\"}"), 0) << "stream=" << stream;
        EXPECT_LT(std::chrono::steady_clock::now() - gone_at, 10s);
    }
    EXPECT_EQ(h.metric("microvmd_executions_total{provider=\"process\",status=\"killed\"}"), 2);
}

// A client queued behind a busy provider that hangs up leaves the queue at once (the
// connection is watched from the moment its request is read, before admission).
TEST(HttpApi, AQueuedClientThatHangsUpLeavesTheQueue) {
    Harness h([](microvm::service::ServiceOptions& o) { o.admission = {1, 4}; });
    std::thread busy = occupy_mock(h, "3s");
    int fd = connect_unix(h.socket_path);
    send_all(fd, request_text("POST", "/v1/executions", json({{"provider", "mock"}, {"eval", "1"}}).dump()));
    for (int i = 0; i < 100 && h.metric("microvmd_queued_executions{provider=\"mock\"}") != 1; ++i)
        std::this_thread::sleep_for(20ms);
    ASSERT_EQ(h.metric("microvmd_queued_executions{provider=\"mock\"}"), 1);
    ::close(fd);
    for (int i = 0; i < 50 && h.metric("microvmd_queued_executions{provider=\"mock\"}") != 0; ++i)
        std::this_thread::sleep_for(20ms);
    EXPECT_EQ(h.metric("microvmd_queued_executions{provider=\"mock\"}"), 0) << "still queued 1 s after its client left";
    EXPECT_EQ(h.metric("microvmd_active_executions{provider=\"mock\"}"), 1) << "the running one is not the client that left";
    busy.join();
}

// Requests sent back to back in one write (pipelined) are each answered, in order: reads are
// buffered, and what was read ahead of one request is the start of the next.
TEST(HttpApi, PipelinedRequestsAreAnsweredInOrder) {
    Harness h;
    int fd = connect_unix(h.socket_path);
    std::string all;
    for (int i = 0; i < 3; ++i) {
        const std::string body = json({{"provider", "mock"}, {"eval", "(+ 1 " + std::to_string(i) + ")"}}).dump();
        all += "POST /v1/executions HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    }
    all += "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    send_all(fd, all);
    const std::string replies = Reader(fd, 10s).rest();  // until the server closes, after the last
    ::close(fd);
    size_t at = 0;
    for (int i = 0; i < 3; ++i) {
        at = replies.find("HTTP/1.1 200 OK\r\n", at);
        ASSERT_NE(at, std::string::npos) << "reply " << i << " missing: " << replies;
        at = replies.find("\"value\":\"" + std::to_string(1 + i) + "\"", at);
        ASSERT_NE(at, std::string::npos) << "reply " << i << " out of order: " << replies;
    }
    EXPECT_NE(replies.find("HTTP/1.1 200 OK\r\n", at), std::string::npos) << "no reply to GET /healthz: " << replies;
}

TEST(HttpApi, KeepAliveServesSeveralRequestsOnOneConnection) {
    Harness h;
    int fd = connect_unix(h.socket_path);
    for (int i = 0; i < 3; ++i) {
        std::string req = "POST /v1/executions HTTP/1.1\r\nHost: x\r\nContent-Length: 33\r\n\r\n"
                          "{\"provider\":\"mock\",\"eval\":\"(+ 1 1)\"}";
        req.replace(req.find("33"), 2, std::to_string(std::string("{\"provider\":\"mock\",\"eval\":\"(+ 1 1)\"}").size()));
        send_all(fd, req);
        auto r = read_reply(fd, 10s);
        ASSERT_EQ(r.status, 200) << i;
        EXPECT_EQ(body_json(r)["value"], "2");
    }
    ::close(fd);
}

TEST(HttpApi, PooledExecutionsAreHitsAndShareNothing) {
    Harness h([](microvm::service::ServiceOptions& o) {
        o.settings.service = {{"pools", {{"mock", {{"size", 1}}}}}};
    });
    ASSERT_TRUE(h.service->pools()->wait_full(30s));
    auto first = h.call_json("POST", "/v1/executions", {{"provider", "mock"}, {"eval", "(def leaked 42) leaked"}});
    EXPECT_EQ(body_json(first)["value"], "42") << first.body;
    ASSERT_TRUE(h.service->pools()->wait_full(30s));
    auto second = h.call_json("POST", "/v1/executions", {{"provider", "mock"}, {"eval", "leaked"}});
    EXPECT_NE(body_json(second)["status"], "ok") << second.body;  // nothing of the first is visible
    EXPECT_EQ(h.metric("microvmd_pool_hits_total{pool=\"mock\"}"), 2);
    EXPECT_EQ(h.metric("microvmd_pool_target{pool=\"mock\"}"), 1);
}

// /metrics counts the connections the egress proxy judged (the results' proxy records), by
// decision: an allowed fetch to a listed address, and a listed name the proxy refuses because it
// resolves to loopback.
TEST(HttpApi, ProxyConnectionsAreCountedByDecision) {
    testsupport::LoopbackHttp server([](httplib::Server& s) {
        s.Get("/ping", [](const httplib::Request&, httplib::Response& res) { res.set_content("pong", "text/plain"); });
    });
    Harness h;
    const std::string port = std::to_string(server.port());
    auto fetch = [&](const std::string& host, const std::string& policy) {
        return body_json(h.call_json("POST", "/v1/executions",
                                     {{"provider", "mock"},
                                      {"security_level", "full"},
                                      {"network_policy", policy},
                                      {"eval", "(:body (http-fetch \"http://" + host + ":" + port + "/ping\"))"}}));
    };
    auto ok = fetch("127.0.0.1", "allow=127.0.0.1");
    EXPECT_EQ(ok["value"], "\"pong\"") << ok.dump();
    auto refused = fetch("localhost", "allow=localhost");  // refused by the proxy (its own 403)
    EXPECT_EQ(refused["status"], "policy_violation") << refused.dump();
    EXPECT_NE(refused.dump().find("the egress proxy answered 403 itself: refused"), std::string::npos)
        << refused.dump();
    EXPECT_EQ(h.metric("microvmd_proxy_connections_total{provider=\"mock\",decision=\"allowed\"}"), 1);
    EXPECT_EQ(h.metric("microvmd_proxy_connections_total{provider=\"mock\",decision=\"denied\"}"), 1);
    EXPECT_EQ(server.hits(), 1);
}
