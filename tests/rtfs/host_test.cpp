// The default capability host performs every capability for real, enforces its gates and caps,
// and records what it did.
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "rtfs/host/big_stack.hpp"
#include "rtfs/host/default_host.hpp"
#include "rtfs/interpreter.hpp"
#include "rtfs/printer.hpp"

namespace {

using namespace std::chrono_literals;
using rtfs::ErrorKind;
using rtfs::host::DefaultHost;
using rtfs::host::HostOptions;
namespace fs = std::filesystem;

// Evaluates src with every capability allowed; the printed value or "!Kind: message".
std::string run(DefaultHost& host, const std::string& src) {
    rtfs::Interpreter in({.security = rtfs::RuntimeContext::full(), .host = &host});
    auto r = in.eval(src);
    if (!r)
        return "!" + std::string(rtfs::to_string(r.error().kind())) + ": " + r.error().message();
    return rtfs::print(*r);
}

bool is_error(const std::string& out, ErrorKind kind) {
    return out.starts_with("!" + std::string(rtfs::to_string(kind)) + ":");
}

std::string quoted(const std::string& s) {
    return rtfs::print(rtfs::make_string(s));
}

class TempDir {
  public:
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "rtfs-host-XXXXXX").string();
        path_ = mkdtemp(tmpl.data());
    }
    ~TempDir() { fs::remove_all(path_); }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

  private:
    fs::path path_;
};

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// ---- console, math, environment, time -------------------------------------------------------

TEST(HostConsole, PrintlnJoinsArgumentsWithSpacesToTheOutputSink) {
    std::string out;
    DefaultHost host({.out = [&](std::string_view s) { out += s; }});
    EXPECT_EQ(run(host, R"((println "a" 1 :k [1 "x"]) )"), "nil");
    EXPECT_EQ(run(host, "(call :ccos.io.println)"), "nil");
    EXPECT_EQ(out, "a 1 :k [1 \"x\"]\n\n");
}

TEST(HostConsole, PrintlnDefaultsToStdoutAndLogToStderr) {
    DefaultHost host;
    testing::internal::CaptureStdout();
    testing::internal::CaptureStderr();
    run(host, R"((println "to-stdout") (log "to-stderr" 2))");
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "to-stderr 2\n");
    EXPECT_EQ(testing::internal::GetCapturedStdout(), "to-stdout\n");
}

TEST(HostConsole, LogGoesToTheErrorSink) {
    std::string err;
    DefaultHost host({.err = [&](std::string_view s) { err += s; }});
    EXPECT_EQ(run(host, R"((log "warn" 1.5))"), "nil");
    EXPECT_EQ(err, "warn 1.5\n");
}

TEST(HostMath, AddTakesAMapOrTwoNumbersAndChecksOverflow) {
    DefaultHost host;
    EXPECT_EQ(run(host, "(call :ccos.math.add {:a 1 :b 2})"), "3");
    EXPECT_EQ(run(host, "(call \"ccos.math.add\" 40 2)"), "42");
    EXPECT_EQ(run(host, "(call :ccos.math.add 1 0.5)"), "1.5");
    EXPECT_TRUE(
        is_error(run(host, "(call :ccos.math.add 9223372036854775807 1)"), ErrorKind::Overflow));
    EXPECT_TRUE(is_error(run(host, "(call :ccos.math.add {:a 1})"), ErrorKind::InvalidArgument));
    EXPECT_TRUE(is_error(run(host, "(call :ccos.math.add \"1\" 2)"), ErrorKind::TypeError));
    EXPECT_TRUE(is_error(run(host, "(call :ccos.math.add 1 2 3)"), ErrorKind::ArityMismatch));
}

TEST(HostSystem, GetEnvReadsTheConfiguredEnvironment) {
    DefaultHost host({.environment = std::map<std::string, std::string>{{"GREETING", "hello"}}});
    EXPECT_EQ(run(host, R"((get-env "GREETING"))"), "\"hello\"");
    EXPECT_EQ(run(host, R"((get-env "PATH"))"), "nil");  // only the configured map is visible
    EXPECT_EQ(run(host, R"((get-env "MISSING" "fallback"))"), "\"fallback\"");
    EXPECT_TRUE(is_error(run(host, "(get-env 1)"), ErrorKind::TypeError));
}

TEST(HostSystem, GetEnvReadsTheProcessEnvironmentByDefault) {
    ::setenv("RTFS_HOST_TEST_VAR", "from-environ", 1);
    DefaultHost host;
    EXPECT_EQ(run(host, R"((get-env "RTFS_HOST_TEST_VAR"))"), "\"from-environ\"");
    ::unsetenv("RTFS_HOST_TEST_VAR");
    EXPECT_EQ(run(host, R"((get-env "RTFS_HOST_TEST_VAR"))"), "nil");
}

TEST(HostSystem, CurrentTimeMillisIsTheSystemClock) {
    DefaultHost host;
    auto ms = [] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    };
    const int64_t before = ms();
    const int64_t t = std::stoll(run(host, "(current-time-millis)"));
    EXPECT_GE(t, before);
    EXPECT_LE(t, ms());
}

TEST(HostSystem, SleepSleeps) {
    DefaultHost host;
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(run(host, "(sleep 30)"), "nil");
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 30ms);
    EXPECT_TRUE(is_error(run(host, "(sleep -1)"), ErrorKind::InvalidArgument));
    EXPECT_TRUE(is_error(run(host, "(sleep \"1\")"), ErrorKind::TypeError));
}

TEST(HostSystem, SleepEndsWhenCancelled) {
    std::atomic<bool> cancel{false};
    DefaultHost host({.cancel = &cancel});
    std::thread stopper([&] {
        std::this_thread::sleep_for(50ms);
        cancel = true;
    });
    const auto t0 = std::chrono::steady_clock::now();
    const std::string out = run(host, "(try (sleep 60000) (catch e :caught))");
    stopper.join();
    EXPECT_TRUE(is_error(out, ErrorKind::Interrupted)) << out;  // and not catchable
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
}

TEST(HostSystem, SleepEndsAtTheDeadline) {
    DefaultHost host({.deadline = std::chrono::steady_clock::now() + 50ms});
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_TRUE(is_error(run(host, "(sleep 60000)"), ErrorKind::Interrupted));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
}

TEST(HostDispatch, UnknownCapabilityIsACapabilityError) {
    DefaultHost host;
    EXPECT_EQ(run(host, "(call :ccos.no.such 1)"),
              "!CapabilityError: Unknown capability: ccos.no.such");
}

TEST(HostDispatch, TheRuntimeContextStillDecides) {
    std::string out;
    DefaultHost host({.out = [&](std::string_view s) { out += s; }});
    rtfs::Interpreter pure({.host = &host});
    auto r = pure.eval("(println \"x\")");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind(), ErrorKind::SecurityViolation);
    EXPECT_NE(r.error().message().find("ccos.io.println"), std::string::npos);
    EXPECT_EQ(out, "");
}

// ---- files ----------------------------------------------------------------------------------

TEST(HostFiles, WriteReadAndExistRoundTrip) {
    TempDir dir;
    const std::string path = dir.file("note.txt");
    DefaultHost host;
    EXPECT_EQ(run(host, "(file-exists? " + quoted(path) + ")"), "false");
    EXPECT_EQ(run(host, "(write-file " + quoted(path) + " \"line one\\nline two\")"), "nil");
    EXPECT_EQ(slurp(path), "line one\nline two");
    EXPECT_EQ(run(host, "(file-exists? " + quoted(path) + ")"), "true");
    EXPECT_EQ(run(host, "(read-file " + quoted(path) + ")"), "\"line one\\nline two\"");

    const rtfs::EffectLog log = host.effects();
    ASSERT_EQ(log.file_operations.size(), 4u);
    EXPECT_EQ(log.file_operations[0].operation, "exists");
    EXPECT_EQ(log.file_operations[1].operation, "write");
    EXPECT_EQ(log.file_operations[1].bytes, 17u);
    EXPECT_EQ(log.file_operations[3].operation, "read");
    EXPECT_EQ(log.file_operations[3].path, path);
    EXPECT_EQ(log.file_operations[3].bytes, 17u);
    EXPECT_EQ(log.file_operations[3].error, "");
}

TEST(HostFiles, ErrorsCarryTheOsReasonAndAreRecorded) {
    TempDir dir;
    DefaultHost host;
    const std::string missing = run(host, "(read-file " + quoted(dir.file("nope")) + ")");
    EXPECT_TRUE(is_error(missing, ErrorKind::CapabilityError)) << missing;
    EXPECT_NE(missing.find("No such file or directory"), std::string::npos) << missing;
    const std::string no_dir =
        run(host, "(write-file " + quoted(dir.file("no/such/dir.txt")) + " \"x\")");
    EXPECT_NE(no_dir.find("No such file or directory"), std::string::npos) << no_dir;
    const std::string is_dir = run(host, "(read-file " + quoted(dir.file("")) + ")");
    EXPECT_NE(is_dir.find("Is a directory"), std::string::npos) << is_dir;
    // A device never ends: refused rather than read until memory runs out.
    const std::string device = run(host, "(read-file \"/dev/zero\")");
    EXPECT_NE(device.find("not a regular file"), std::string::npos) << device;
    // Errors are catchable like any capability failure.
    EXPECT_EQ(run(host, "(try (read-file " + quoted(dir.file("nope")) + ") (catch e :caught))"),
              ":caught");

    const auto ops = host.effects().file_operations;
    ASSERT_GE(ops.size(), 4u);
    EXPECT_NE(ops[0].error.find("No such file or directory"), std::string::npos);
    EXPECT_EQ(ops[0].bytes, 0u);
}

TEST(HostFiles, SizeCapHoldsForReadAndWrite) {
    TempDir dir;
    const std::string big = dir.file("big.txt");
    std::ofstream(big) << "0123456789ABCDEF";
    DefaultHost host({.max_file_bytes = 10});
    const std::string read = run(host, "(read-file " + quoted(big) + ")");
    EXPECT_TRUE(is_error(read, ErrorKind::CapabilityError)) << read;
    EXPECT_NE(read.find("limit of 10 bytes"), std::string::npos) << read;
    const std::string out = dir.file("out.txt");
    EXPECT_TRUE(is_error(run(host, "(write-file " + quoted(out) + " \"0123456789A\")"),
                         ErrorKind::CapabilityError));
    EXPECT_FALSE(fs::exists(out));
    EXPECT_EQ(run(host, "(write-file " + quoted(out) + " \"0123456789\")"), "nil");
    EXPECT_EQ(slurp(out), "0123456789");
}

TEST(HostFiles, FileGateDenialIsASecurityViolationAndNothingHappens) {
    TempDir dir;
    std::vector<std::pair<std::string, std::string>> asked;
    DefaultHost host({.file_gate = [&](const std::string& path,
                                       std::string_view op) -> std::optional<std::string> {
        asked.emplace_back(path, std::string(op));
        if (op == "write") return "the file system policy is read-only";
        return std::nullopt;
    }});
    const std::string target = dir.file("sub/../denied.txt");
    const std::string out = run(host, "(write-file " + quoted(target) + " \"x\")");
    EXPECT_TRUE(is_error(out, ErrorKind::SecurityViolation)) << out;
    EXPECT_NE(out.find("read-only"), std::string::npos);
    EXPECT_FALSE(fs::exists(dir.file("denied.txt")));
    ASSERT_EQ(asked.size(), 1u);
    EXPECT_EQ(asked[0].first, dir.file("denied.txt"));  // absolute and normalised
    EXPECT_EQ(asked[0].second, "write");
    EXPECT_EQ(run(host, "(file-exists? " + quoted(target) + ")"), "false");
    const auto ops = host.effects().file_operations;
    ASSERT_EQ(ops.size(), 2u);
    EXPECT_EQ(ops[0].error, "denied: the file system policy is read-only");
}

// ---- http-fetch -----------------------------------------------------------------------------

class HttpFetch : public testing::Test {
  protected:
    void SetUp() override {
        server_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response&) {
            ++hits_;
            std::lock_guard lock(mu_);
            paths_.push_back(req.path);
            return httplib::Server::HandlerResponse::Unhandled;
        });
        server_.Get("/hello", [](const httplib::Request&, httplib::Response& res) {
            res.set_header("X-Custom", "yes");
            res.set_content("hello world", "text/plain");
        });
        server_.Get("/twice", [](const httplib::Request&, httplib::Response& res) {
            res.set_header("X-Dup", "a");
            res.set_header("X-Other", " c ");
            res.set_header("x-DUP", "b");
            res.set_content("", "text/plain");
        });
        server_.Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
            res.status = 201;
            res.set_content(req.method + " " + req.get_header_value("X-Token") + " " + req.body,
                            "text/plain");
        });
        server_.Put("/echo", [](const httplib::Request& req, httplib::Response& res) {
            res.set_content(req.method + " " + req.body, "text/plain");
        });
        server_.Get("/big", [](const httplib::Request&, httplib::Response& res) {
            res.set_content(std::string(1 << 20, 'x'), "text/plain");
        });
        server_.Get("/slow", [this](const httplib::Request&, httplib::Response& res) {
            std::unique_lock lock(mu_);
            release_.wait_for(lock, 20s, [this] { return released_; });
            res.set_content("late", "text/plain");
        });
        server_.Get("/to-hello", [](const httplib::Request&, httplib::Response& res) {
            res.set_redirect("/hello");
        });
        server_.Get("/to-localhost", [this](const httplib::Request&, httplib::Response& res) {
            res.set_redirect("http://localhost:" + std::to_string(port_) + "/hello");
        });
        server_.Get("/to-file", [](const httplib::Request&, httplib::Response& res) {
            res.set_redirect("file:///etc/passwd");
        });
        server_.Get("/loop", [](const httplib::Request&, httplib::Response& res) {
            res.set_redirect("/loop");
        });
        // As the egress proxy answers what it refuses (also for an absolute-form target).
        server_.Get(R"(.*/as-proxy-refusal)", [](const httplib::Request&, httplib::Response& res) {
            res.status = 403;
            res.set_header("Proxy-Status",
                           R"(microvm-egress; error=http_request_denied; details="refused \"x\": no")");
            res.set_content("microvm proxy: refused\n", "text/plain");
        });
        port_ = server_.bind_to_any_port("127.0.0.1");
        ASSERT_GT(port_, 0);
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        while (!server_.is_running()) std::this_thread::sleep_for(1ms);
    }
    void TearDown() override {
        {
            std::lock_guard lock(mu_);
            released_ = true;
        }
        release_.notify_all();
        server_.stop();
        thread_.join();
    }
    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(port_) + path;
    }
    std::vector<std::string> paths() {
        std::lock_guard lock(mu_);
        return paths_;
    }

    httplib::Server server_;
    std::thread thread_;
    int port_ = 0;
    std::atomic<int> hits_{0};
    std::mutex mu_;
    std::vector<std::string> paths_;
    std::condition_variable release_;  // lets /slow answer (at teardown)
    bool released_ = false;
};

TEST_F(HttpFetch, GetReturnsStatusHeadersAndBody) {
    DefaultHost host;
    EXPECT_EQ(run(host, "(let [r (http-fetch " + quoted(url("/hello")) +
                            ")] [(:status r) (:body r) (get (:headers r) \"x-custom\")"
                            " (get (:headers r) \"content-type\")])"),
              "[200 \"hello world\" \"yes\" \"text/plain\"]");
    const auto reqs = host.effects().network_requests;
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].url, url("/hello"));
    EXPECT_EQ(reqs[0].method, "GET");
    EXPECT_EQ(reqs[0].status, 200);
    EXPECT_EQ(reqs[0].bytes, 11u);
    EXPECT_EQ(reqs[0].error, "");
}

// A name sent twice, in any case, is one lower-case name holding both values in their order
// (merged through an index of names since a search per line was quadratic: red team, 2026-12-07).
TEST_F(HttpFetch, AHeaderSentTwiceIsMergedUnderItsLowerCaseName) {
    DefaultHost host;
    EXPECT_EQ(run(host, "(let [h (:headers (http-fetch " + quoted(url("/twice")) +
                            "))] [(get h \"x-dup\") (get h \"x-other\") (get h \"X-Dup\")])"),
              "[\"a, b\" \"c\" nil]");
}

TEST_F(HttpFetch, PostAndPutSendBodyAndHeaders) {
    DefaultHost host;
    EXPECT_EQ(run(host, "(let [r (http-fetch {:url " + quoted(url("/echo")) +
                            " :method \"POST\" :headers {\"X-Token\" \"t0k\"} :body \"payload\"})]"
                            " [(:status r) (:body r)])"),
              "[201 \"POST t0k payload\"]");
    EXPECT_EQ(run(host, "(:body (http-fetch {:url " + quoted(url("/echo")) +
                            " :method :put :body \"data\"}))"),
              "\"PUT data\"");
    EXPECT_EQ(host.effects().network_requests[1].method, "PUT");
}

TEST_F(HttpFetch, NotFoundIsAResponseNotAnError) {
    DefaultHost host;
    EXPECT_EQ(run(host, "(:status (http-fetch " + quoted(url("/missing")) + "))"), "404");
    EXPECT_EQ(host.effects().network_requests.at(0).status, 404);
}

TEST_F(HttpFetch, ConnectionRefusedIsACapabilityError) {
    // A bound but not listening socket: connections to its port are refused.
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    const std::string target = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/";
    DefaultHost host;
    const std::string out = run(host, "(http-fetch " + quoted(target) + ")");
    ::close(fd);
    EXPECT_TRUE(is_error(out, ErrorKind::CapabilityError)) << out;
    EXPECT_NE(out.find("onnect"), std::string::npos) << out;
    const auto reqs = host.effects().network_requests;
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].status, 0);
    EXPECT_FALSE(reqs[0].error.empty());
}

TEST_F(HttpFetch, GateDenialIsASecurityViolationAndNothingIsSent) {
    std::string gate_host;
    int gate_port = 0;
    DefaultHost host(
        {.network_gate = [&](const std::string& h, int p) -> std::optional<std::string> {
            gate_host = h;
            gate_port = p;
            return "not in the allow list";
        }});
    const std::string out = run(host, "(http-fetch " + quoted(url("/hello")) + ")");
    EXPECT_TRUE(is_error(out, ErrorKind::SecurityViolation)) << out;
    EXPECT_NE(out.find("127.0.0.1"), std::string::npos) << out;
    EXPECT_EQ(gate_host, "127.0.0.1");
    EXPECT_EQ(gate_port, port_);
    EXPECT_EQ(hits_.load(), 0);
    const auto reqs = host.effects().network_requests;
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].error, "denied: not in the allow list");
}

TEST_F(HttpFetch, RedirectsAreFollowedThroughTheGate) {
    std::vector<std::string> asked;
    DefaultHost host({.network_gate = [&](const std::string& h, int) -> std::optional<std::string> {
        asked.push_back(h);
        if (h == "localhost") return "only 127.0.0.1 is allowed";
        return std::nullopt;
    }});
    EXPECT_EQ(run(host, "(:body (http-fetch " + quoted(url("/to-hello")) + "))"),
              "\"hello world\"");
    EXPECT_EQ(host.effects().network_requests.size(), 2u);

    const std::string out = run(host, "(http-fetch " + quoted(url("/to-localhost")) + ")");
    EXPECT_TRUE(is_error(out, ErrorKind::SecurityViolation)) << out;
    EXPECT_NE(out.find("localhost"), std::string::npos);
    // Only the redirecting request reached the server; /hello was not fetched again.
    EXPECT_EQ(paths(), (std::vector<std::string>{"/to-hello", "/hello", "/to-localhost"}));
}

// An http:// fetch through the egress proxy gets the proxy's own refusals as HTTP responses; one
// naming the proxy in its Proxy-Status header (RFC 9209) is a refusal of the fetch, as the gate's
// own, with the proxy's reason, never the server's answer. Reached straight, a server's same header
// is only a header of its answer.
TEST_F(HttpFetch, TheEgressProxysOwnRefusalIsARefusalNotAnAnswer) {
    DefaultHost through({.http_proxy = url("")});
    const std::string out = run(through, "(http-fetch " + quoted(url("/as-proxy-refusal")) + ")");
    EXPECT_TRUE(is_error(out, ErrorKind::SecurityViolation)) << out;
    EXPECT_NE(out.find("the egress proxy answered 403 itself: refused"), std::string::npos) << out;
    const auto reqs = through.effects().network_requests;
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].status, 0);
    EXPECT_EQ(reqs[0].error, "the egress proxy answered 403 itself: refused \"x\": no");

    DefaultHost straight;
    EXPECT_EQ(run(straight, "(:status (http-fetch " + quoted(url("/as-proxy-refusal")) + "))"), "403");
    EXPECT_EQ(hits_.load(), 2);
}

TEST_F(HttpFetch, ProxySettingsCannotRedirectTheConnection) {
    // The gate judged 127.0.0.2: the connection must go there, not to a proxy from the
    // environment (here: the test server, which must see nothing).
    ::setenv("http_proxy", url("").c_str(), 1);
    ::setenv("HTTP_PROXY", url("").c_str(), 1);
    DefaultHost host;
    const std::string out = run(host, "(http-fetch \"http://127.0.0.2:9/x\")");
    ::unsetenv("http_proxy");
    ::unsetenv("HTTP_PROXY");
    EXPECT_TRUE(is_error(out, ErrorKind::CapabilityError)) << out;
    EXPECT_EQ(hits_.load(), 0);
}

TEST_F(HttpFetch, OnlyHttpAndHttpsSchemes) {
    DefaultHost host;
    const std::string file = run(host, "(http-fetch \"file:///etc/passwd\")");
    EXPECT_TRUE(is_error(file, ErrorKind::CapabilityError)) << file;
    EXPECT_NE(file.find("unsupported URL scheme 'file'"), std::string::npos) << file;
    const std::string redirected = run(host, "(http-fetch " + quoted(url("/to-file")) + ")");
    EXPECT_TRUE(is_error(redirected, ErrorKind::CapabilityError)) << redirected;
    EXPECT_NE(redirected.find("unsupported URL scheme"), std::string::npos) << redirected;
    EXPECT_TRUE(is_error(run(host, "(http-fetch {:url " + quoted(url("/loop")) + "})"),
                         ErrorKind::CapabilityError));
}

TEST_F(HttpFetch, BadRequestsAreRejectedBeforeConnecting) {
    DefaultHost host;
    EXPECT_TRUE(is_error(run(host, "(http-fetch {:url " + quoted(url("/hello")) +
                                       " :headers {\"X-A\" \"1\\r\\nX-Injected: 2\"}})"),
                         ErrorKind::InvalidArgument));
    EXPECT_TRUE(
        is_error(run(host, "(http-fetch {:url " + quoted(url("/hello")) + " :method \"GET /x\"})"),
                 ErrorKind::InvalidArgument));
    EXPECT_TRUE(is_error(run(host, "(http-fetch {:method \"GET\"})"), ErrorKind::InvalidArgument));
    EXPECT_TRUE(is_error(run(host, "(http-fetch \"not a url\")"), ErrorKind::InvalidArgument));
    EXPECT_TRUE(is_error(run(host, "(http-fetch 42)"), ErrorKind::TypeError));
    EXPECT_EQ(hits_.load(), 0);
}

TEST_F(HttpFetch, UserInfoIsRefusedBeforeConnecting) {
    DefaultHost host;
    const std::string with_user =
        run(host, "(http-fetch \"http://evil.test@127.0.0.1:" + std::to_string(port_) + "/hello\")");
    EXPECT_TRUE(is_error(with_user, ErrorKind::InvalidArgument)) << with_user;
    EXPECT_NE(with_user.find("user info"), std::string::npos) << with_user;
    EXPECT_TRUE(is_error(run(host, "(http-fetch \"http://u:pw@127.0.0.1:" + std::to_string(port_) + "/hello\")"),
                         ErrorKind::InvalidArgument));
    EXPECT_EQ(hits_.load(), 0);
}

TEST_F(HttpFetch, ResponseSizeCapHolds) {
    DefaultHost host({.max_response_bytes = 1000});
    const std::string out = run(host, "(http-fetch " + quoted(url("/big")) + ")");
    EXPECT_TRUE(is_error(out, ErrorKind::CapabilityError)) << out;
    EXPECT_NE(out.find("limit of 1000 bytes"), std::string::npos) << out;
}

TEST_F(HttpFetch, TimeoutAndDeadlineEndASlowRequest) {
    // /slow answers only at teardown (or after 20 s): each fetch must end on its own limit.
    DefaultHost host({.http_timeout = 200ms});
    auto t0 = std::chrono::steady_clock::now();
    const std::string out = run(host, "(http-fetch " + quoted(url("/slow")) + ")");
    EXPECT_TRUE(is_error(out, ErrorKind::CapabilityError)) << out;
    EXPECT_NE(out.find("imeout"), std::string::npos) << out;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);

    t0 = std::chrono::steady_clock::now();
    DefaultHost bounded({.deadline = t0 + 200ms});
    EXPECT_TRUE(is_error(run(bounded, "(http-fetch " + quoted(url("/slow")) + ")"),
                         ErrorKind::Interrupted));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
}

TEST_F(HttpFetch, EffectsCanBeReadWhileRequestsRun) {
    DefaultHost host;
    std::atomic<bool> done{false};
    size_t seen = 0;
    std::thread reader([&] {
        while (!done) seen = std::max(seen, host.effects().network_requests.size());
    });
    EXPECT_EQ(run(host, "(loop [i 0] (if (< i 20) (do (http-fetch " + quoted(url("/hello")) +
                            ") (recur (inc i))) i))"),
              "20");
    done = true;
    reader.join();
    EXPECT_LE(seen, 20u);
    EXPECT_EQ(host.effects().network_requests.size(), 20u);
}

// ---- big stack ------------------------------------------------------------------------------

constexpr const char* kDeep = "(defn f [n] (if (= n 0) 0 (+ 1 (f (- n 1)))))";

TEST(BigStack, TenThousandDeepRecursionWorks) {
    rtfs::Interpreter in;
    auto r = rtfs::host::eval_on_big_stack(in, std::string(kDeep) + " (f 10000)");
    ASSERT_TRUE(r.has_value()) << r.error().describe();
    EXPECT_EQ(rtfs::print(*r), "10000");
}

TEST(BigStack, MuchDeeperRecursionIsARecursionLimit) {
    rtfs::Interpreter in;
    auto r = rtfs::host::eval_on_big_stack(in, std::string(kDeep) + " (f 10000000)");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind(), ErrorKind::RecursionLimit) << r.error().describe();
    // Unbounded recursion with a depth limit beyond what the stack holds: the native stack
    // check ends it.
    rtfs::Interpreter unlimited({.max_depth = 1u << 30});
    r = rtfs::host::eval_on_big_stack(unlimited, "(defn g [n] (+ 1 (g n))) (g 1)", 64 << 20);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind(), ErrorKind::RecursionLimit) << r.error().describe();
}

TEST(BigStack, ImpossibleStackIsAResourceLimitError) {
    bool ran = false;
    auto r = rtfs::host::run_with_stack(size_t{1} << 50, [&] { ran = true; });
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().kind(), ErrorKind::ResourceLimit);
    EXPECT_FALSE(ran);
}

}  // namespace
