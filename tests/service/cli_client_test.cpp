// `microvm --daemon`: the CLI as a client of the service. The same command through a real
// service (Unix socket, loopback TCP with a token) and locally gives the same output and exit
// status; the daemon really ran it (its metrics count it); auth and reachability errors are
// clear.
#include <gtest/gtest.h>
#include <signal.h>
#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <thread>

#include <nlohmann/json.hpp>

#include "harness.hpp"
#include "host/remove_tree.hpp"
#include "support/expectations.hpp"
#include "support/run_command.hpp"
#include "support/scoped_env.hpp"

using namespace svctest;
using namespace std::chrono_literals;
using testsupport::CommandResult;

namespace {

CommandResult cli(std::vector<std::string> args) {
    args.insert(args.begin(), MICROVM_BINARY);
    return testsupport::run_command(args);
}

// args with "--daemon ADDRESS" inserted after the subcommand (the option may follow it).
std::vector<std::string> through(const std::string& address, std::vector<std::string> args) {
    args.insert(args.begin() + 1, {"--daemon", address});
    return args;
}

std::string token_file(const Harness& h, const std::string& content, mode_t mode = 0600) {
    std::string path = h.dir + "/token-" + std::to_string(::rand());
    std::FILE* f = std::fopen(path.c_str(), "w");
    std::fputs(content.c_str(), f);
    std::fclose(f);
    ::chmod(path.c_str(), mode);
    return path;
}

double executions(const Harness& h, const std::string& provider, const std::string& status) {
    double v = h.metric("microvmd_executions_total{provider=\"" + provider + "\",status=\"" + status + "\"}");
    return v < 0 ? 0 : v;
}

void expect_same(const CommandResult& local, const CommandResult& remote, const std::string& what) {
    EXPECT_EQ(remote.status, local.status) << what << "\nlocal: " << local.err << "\nremote: " << remote.err;
    EXPECT_EQ(remote.out, local.out) << what;
    EXPECT_EQ(remote.err, local.err) << what;
}

// A listener of another local user (uid 61234 by default) on a loopback port (IPv4, or an IPv6
// socket on [::] that serves IPv4 clients too) or, given a path, a Unix socket: it takes one
// connection and keeps what arrives on it within 2 s of silence.
struct ForeignListener {
    pid_t pid = -1;
    int port = 0;
    int out = -1;  // the bytes it received, then EOF

    explicit ForeignListener(const std::string& unix_path = "", uid_t uid = 61234, bool dual_stack = false) {
        int ready[2], got[2];
        if (::pipe(ready) != 0 || ::pipe(got) != 0) return;
        pid = ::fork();
        if (pid == 0) {
            ::close(ready[0]);
            ::close(got[0]);
            if (::setgroups(0, nullptr) != 0 || ::setresgid(uid, uid, uid) != 0 || ::setresuid(uid, uid, uid) != 0)
                ::_exit(1);
            int fd = -1, bound_port = 0;
            if (dual_stack) {
                fd = ::socket(AF_INET6, SOCK_STREAM, 0);
                int off = 0;
                ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
                sockaddr_in6 a{};
                a.sin6_family = AF_INET6;
                a.sin6_addr = in6addr_any;
                socklen_t len = sizeof a;
                if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
                    ::_exit(2);
                bound_port = ntohs(a.sin6_port);
            } else if (unix_path.empty()) {
                fd = ::socket(AF_INET, SOCK_STREAM, 0);
                sockaddr_in a{};
                a.sin_family = AF_INET;
                a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
                socklen_t len = sizeof a;
                if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
                    ::_exit(2);
                bound_port = ntohs(a.sin_port);
            } else {
                fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
                sockaddr_un a{};
                a.sun_family = AF_UNIX;
                std::strncpy(a.sun_path, unix_path.c_str(), sizeof a.sun_path - 1);
                if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) ::_exit(2);
            }
            if (::listen(fd, 4) != 0) ::_exit(3);
            (void)!::write(ready[1], &bound_port, sizeof bound_port);
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 10000) <= 0) ::_exit(0);
            const int conn = ::accept(fd, nullptr, nullptr);
            char buf[4096];
            for (;;) {
                pollfd q{conn, POLLIN, 0};
                if (::poll(&q, 1, 2000) <= 0) break;
                const ssize_t n = ::read(conn, buf, sizeof buf);
                if (n <= 0) break;
                (void)!::write(got[1], buf, static_cast<size_t>(n));
            }
            ::_exit(0);
        }
        ::close(ready[1]);
        ::close(got[1]);
        if (::read(ready[0], &port, sizeof port) != static_cast<ssize_t>(sizeof port)) port = -1;
        ::close(ready[0]);
        out = got[0];
    }
    std::string received() {
        std::string all;
        char buf[4096];
        ssize_t n;
        while ((n = ::read(out, buf, sizeof buf)) > 0) all.append(buf, static_cast<size_t>(n));
        ::close(out);
        ::waitpid(pid, nullptr, 0);
        return all;
    }
};

}  // namespace

// Any local user may listen on a loopback port, or a socket path, that the daemon is not holding
// (it restarts, or has not started yet): one that did got the CLI's bearer token and the whole
// request, answered with results of its own, and kept the port so that microvmd could not
// restart (red team, 2026-12-05). Over plain http and unix: the CLI now talks only to a daemon of
// root or of its own user, and sends nothing to another.
TEST(CliClient, AListenerOfAnotherUserGetsNeitherTheTokenNorTheRequest) {
    Harness h;
    auto right = token_file(h, kToken + "\n");
    const std::string dir = h.dir + "/open";
    ASSERT_EQ(::mkdir(dir.c_str(), 0777), 0);
    ASSERT_EQ(::chmod(dir.c_str(), 0777), 0);
    ASSERT_EQ(::chmod(h.dir.c_str(), 0755), 0);
    for (bool tcp : {true, false}) {
        SCOPED_TRACE(tcp ? "tcp" : "unix");
        ForeignListener listener(tcp ? "" : dir + "/fake.sock");
        ASSERT_GT(listener.pid, 0);
        ASSERT_GE(listener.port, 0) << "the listener of uid 61234 could not start";
        const std::string address =
            tcp ? "http://127.0.0.1:" + std::to_string(listener.port) : "unix:" + dir + "/fake.sock";
        auto r = tcp ? cli({"--daemon", address, "eval", "--token-file", right, "-p", "mock", "(+ 1 2)"})
                     : cli({"--daemon", address, "eval", "-p", "mock", "(+ 1 2)"});
        const std::string got = listener.received();
        EXPECT_EQ(r.status, 125) << r.err;
        EXPECT_NE(r.err.find("served by uid 61234"), std::string::npos) << r.err;
        EXPECT_EQ(got, "") << "the other user's listener received the request";
    }
    // An IPv6 socket on [::] serves IPv4 clients as ::ffff:127.0.0.1 (/proc/net/tcp6): another
    // user's is refused, root's is trusted (its first form refused both, looking in
    // /proc/net/tcp only).
    for (uid_t uid : {uid_t{61234}, uid_t{0}}) {
        SCOPED_TRACE("dual-stack listener of uid " + std::to_string(uid));
        ForeignListener listener("", uid, /*dual_stack=*/true);
        ASSERT_GT(listener.port, 0);
        auto r = cli({"--daemon", "http://127.0.0.1:" + std::to_string(listener.port), "eval", "--token-file", right,
                      "-p", "mock", "(+ 1 2)"});
        const std::string got = listener.received();
        EXPECT_EQ(r.status, 125) << r.err;  // the listener never answers
        if (uid != 0) {
            EXPECT_NE(r.err.find("served by uid 61234"), std::string::npos) << r.err;
            EXPECT_EQ(got, "");
        } else {
            EXPECT_EQ(r.err.find("refused the daemon"), std::string::npos) << r.err;
            EXPECT_NE(got.find("POST /v1/executions"), std::string::npos) << got;
        }
    }
}

TEST(CliClient, EvalThroughTheUnixSocketPrintsAndExitsAsLocally) {
    Harness h;
    const std::string addr = "unix:" + h.socket_path;
    testsupport::ScopedEnv from_env("MVT_FROM_ENV", "a value from the environment");
    const std::vector<std::vector<std::string>> cases = {
        {"eval", "-p", "mock", "(+ 1 2)"},
        {"eval", "-p", "mock", "(/ 1 0)"},                                     // RTFS error: 1
        {"eval", "-p", "mock", "(println \"hi\")"},                           // denied: 126
        {"eval", "-p", "mock", "--allow", "ccos.io.println", "(do (println \"hi\") 7)"},
        {"eval", "-p", "mock", "(+ 1"},                                        // read error: 2
        {"eval", "-p", "mock", "--timeout", "200ms", "(loop [] (recur))"},    // 124
        {"eval", "-p", "mock", "--memory", "abc", "1"},                        // bad flag: 64
    };
    const double before = executions(h, "mock", "ok");
    for (const auto& args : cases) {
        std::string what;
        for (const auto& a : args) what += a + " ";
        expect_same(cli(args), cli(through(addr, args)), what);
    }
    EXPECT_EQ(executions(h, "mock", "ok"), before + 2);  // the daemon ran them (not the bad flag)
    EXPECT_EQ(executions(h, "mock", "timeout"), 1);
}

// A request to a local daemon loads no HTTP library: libcurl and what it links cost about 10 ms
// per command, more than a pooled execution takes in the daemon (issue 15).
TEST(CliClient, ARequestOverTheUnixSocketLoadsNoHttpLibrary) {
    Harness h;
    testsupport::ScopedEnv debug("LD_DEBUG", "files");
    const CommandResult r = cli(through("unix:" + h.socket_path, {"eval", "-p", "mock", "(+ 1 2)"}));
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "3\n");
    EXPECT_NE(r.err.find("file=libc.so"), std::string::npos) << "LD_DEBUG said nothing: " << r.err.substr(0, 400);
    EXPECT_EQ(r.err.find("libcurl"), std::string::npos) << r.err.substr(0, 2000);
}

// `microvm bench --daemon-rows`: each provider's eval and run rows again through the daemon, the
// one-shot with a resident helper, under a subject that says so; the daemon ran them.
TEST(CliClient, BenchMeasuresTheRowsThroughTheDaemonWhenAsked) {
    Harness h;
    const double before = executions(h, "mock", "ok");
    const CommandResult r = cli({"bench", "--runs", "2", "--compute-ms", "5", "-p", "mock", "--no-peers", "--json",
                                 "--daemon-rows", "unix:" + h.socket_path});
    ASSERT_EQ(r.status, 0) << r.err;
    auto report = nlohmann::json::parse(r.out);
    size_t through = 0;
    for (const auto& row : report["rows"]) {
        EXPECT_EQ(row["runs"].get<int>(), 2) << row.dump();
        if (row["subject"] == "mock (microvmd)") ++through;
    }
    EXPECT_EQ(through, 3u) << r.out;  // the empty program, (+ 1 2), the compute job
    EXPECT_GE(executions(h, "mock", "ok"), before + 6);
}

TEST(CliClient, JsonThroughTheDaemonHasTheLocalStatusAndKeys) {
    Harness h;
    const std::string addr = "unix:" + h.socket_path;
    for (const std::string src : {"(+ 40 2)", "(/ 1 0)", "(+ 1"}) {
        auto local = cli({"eval", "-p", "mock", "--json", src});
        auto remote = cli(through(addr, {"eval", "-p", "mock", "--json", src}));
        EXPECT_EQ(remote.status, local.status) << src << remote.err;
        auto l = nlohmann::json::parse(local.out), r = nlohmann::json::parse(remote.out);
        EXPECT_EQ(r["status"], l["status"]) << src;
        EXPECT_EQ(r["value"], l["value"]) << src;
        EXPECT_EQ(r["error"], l["error"]) << src;
        for (auto& [k, v] : l.items()) EXPECT_TRUE(r.contains(k)) << k;
        EXPECT_EQ(r["provider"], "mock");
        EXPECT_EQ(remote.out.rfind("{\"execution_id\":", 0), 0u) << remote.out;  // --json's key order
    }
}

TEST(CliClient, RunThroughTheDaemonMatchesLocal) {
    MICROVM_REQUIRE("process", provider_available("process"), "the process provider is unavailable here");
    Harness h;
    const std::string addr = "unix:" + h.socket_path;
    testsupport::ScopedEnv from_env("MVT_FROM_ENV", "a value from the environment");
    const std::vector<std::vector<std::string>> cases = {
        {"run", "-p", "process", "--fs", "ro", "--", "/bin/sh", "-c", "echo out; echo err >&2; exit 3"},
        {"run", "-p", "process", "--fs", "ro", "--env", "GREETING=hello", "--", "/bin/sh", "-c", "echo $GREETING"},
        // --env KEY: the value of this environment, sent as the value (the name was sent once).
        {"run", "-p", "process", "--fs", "ro", "--env", "MVT_FROM_ENV", "--", "/bin/sh", "-c", "echo $MVT_FROM_ENV"},
        {"run", "-p", "process", "--fs", "ro", "--", "/no/such/program"},
        // Output that is not UTF-8 arrives exactly (it came with U+FFFD for its bytes).
        {"run", "-p", "process", "--fs", "ro", "--", "/bin/sh", "-c", "printf '\\211PNG\\377ok\\n'; printf '\\200' >&2"},
    };
    for (const auto& args : cases) {
        std::string what;
        for (const auto& a : args) what += a + " ";
        expect_same(cli(args), cli(through(addr, args)), what);
    }
    auto local = cli({"run", "-p", "process", "--fs", "ro", "--json", "--", "/bin/sh", "-c", "exit 5"});
    auto remote = cli(through(addr, {"run", "-p", "process", "--fs", "ro", "--json", "--", "/bin/sh", "-c", "exit 5"}));
    EXPECT_EQ(local.status, 5);
    EXPECT_EQ(remote.status, 5) << remote.err;
    EXPECT_EQ(nlohmann::json::parse(remote.out)["status"], nlohmann::json::parse(local.out)["status"]);
    EXPECT_EQ(nlohmann::json::parse(remote.out)["exit_code"], 5);
}

TEST(CliClient, OutputArrivesAsTheProgramWritesIt) {
    MICROVM_REQUIRE("process", provider_available("process"), "the process provider is unavailable here");
    Harness h;
    // The first line must be on our pipe while the program still sleeps.
    std::string cmd = std::string(MICROVM_BINARY) + " --daemon unix:" + h.socket_path +
                      " run -p process --fs ro -- /bin/sh -c 'echo first; sleep 3; echo second'";
    auto start = std::chrono::steady_clock::now();
    std::FILE* p = ::popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    char line[256] = {};
    ASSERT_NE(std::fgets(line, sizeof line, p), nullptr);
    EXPECT_STREQ(line, "first\n");
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2500ms);  // not held until the end
    ASSERT_NE(std::fgets(line, sizeof line, p), nullptr);
    EXPECT_STREQ(line, "second\n");
    EXPECT_EQ(WEXITSTATUS(::pclose(p)), 0);
}

TEST(CliClient, MicrovmDaemonVariableSendsEvalAndRunToTheDaemon) {
    Harness h;
    testsupport::ScopedEnv env("MICROVM_DAEMON", "unix:" + h.socket_path);
    const double before = executions(h, "mock", "ok");
    auto r = cli({"eval", "-p", "mock", "(* 6 7)"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "42\n");
    EXPECT_EQ(executions(h, "mock", "ok"), before + 1);
    // Other subcommands stay local.
    EXPECT_EQ(cli({"providers", "--json"}).status, 0);
}

TEST(CliClient, TcpNeedsTheRightToken) {
    Harness h;
    const std::string addr = "http://127.0.0.1:" + std::to_string(h.tcp_port);
    const std::vector<std::string> args = {"eval", "-p", "mock", "(+ 1 2)"};
    auto right = token_file(h, "# the daemon's format\nclient:" + kToken + "\n");
    auto ok = cli(through(addr, {"eval", "--token-file", right, "-p", "mock", "(+ 1 2)"}));
    EXPECT_EQ(ok.status, 0) << ok.err;
    EXPECT_EQ(ok.out, "3\n");
    {
        testsupport::ScopedEnv env("MICROVM_TOKEN_FILE", right);
        EXPECT_EQ(cli(through(addr, args)).out, "3\n");
    }
    auto wrong = cli(through(addr, {"eval", "--token-file", token_file(h, "not-the-token-at-all-0000\n"), "-p", "mock", "1"}));
    EXPECT_EQ(wrong.status, 125);
    EXPECT_NE(wrong.err.find("error: unauthorized:"), std::string::npos) << wrong.err;
    EXPECT_NE(wrong.err.find("refused the token"), std::string::npos) << wrong.err;
    auto missing = cli(through(addr, args));
    EXPECT_EQ(missing.status, 125);
    EXPECT_NE(missing.err.find("--token-file"), std::string::npos) << missing.err;
    auto json = cli(through(addr, {"eval", "--json", "-p", "mock", "1"}));
    EXPECT_EQ(json.status, 125);
    EXPECT_EQ(nlohmann::json::parse(json.out)["status"], "unavailable");
    // A token others can read is refused before it is sent, as the daemon refuses its file.
    auto open = cli(through(addr, {"eval", "--token-file", token_file(h, kToken + "\n", 0644), "-p", "mock", "1"}));
    EXPECT_EQ(open.status, 64);
    EXPECT_NE(open.err.find("chmod 600"), std::string::npos) << open.err;
    // A symlink planted where the token file is named (to a file someone else controls): the
    // file is opened without following it, so the check and the read are of one file.
    const std::string link = h.dir + "/token-link";
    ASSERT_EQ(::symlink(right.c_str(), link.c_str()), 0);
    auto linked = cli(through(addr, {"eval", "--token-file", link, "-p", "mock", "1"}));
    EXPECT_EQ(linked.status, 64);
    EXPECT_NE(linked.err.find("token file " + link), std::string::npos) << linked.err;
}

// The CLI read its token file by rules of its own: an indented comment was sent as the token, and
// so was a secret with a tab after it, each failing as "refused the token" although the daemon
// loads the same file without complaint. Both now read it with one parser (token_file.hpp).
TEST(CliClient, ATokenFileIsReadByTheDaemonsRules) {
    Harness h;
    const std::string addr = "http://127.0.0.1:" + std::to_string(h.tcp_port);
    auto indented = token_file(h, "\xEF\xBB\xBF  # the daemon's format, indented\n\tclient:" + kToken + "\t\n");
    auto ok = cli(through(addr, {"eval", "--token-file", indented, "-p", "mock", "(+ 1 2)"}));
    EXPECT_EQ(ok.status, 0) << ok.err;
    EXPECT_EQ(ok.out, "3\n");
    // What the daemon would refuse to load is refused before anything is sent, naming the line.
    auto short_one = cli(through(addr, {"eval", "--token-file", token_file(h, "# c\nshort\n"), "-p", "mock", "1"}));
    EXPECT_EQ(short_one.status, 64);
    EXPECT_NE(short_one.err.find(":2: a token must have at least 16 characters"), std::string::npos)
        << short_one.err;
}

// A bearer token over plain http leaves the machine readable by anyone on the path: the client
// sends one only to loopback (or over https). 0.0.0.0 is not a loopback name, yet Linux routes
// a connection to it to 127.0.0.1, so this test reaches no other address even if the check fails.
TEST(CliClient, ATokenIsNeverSentInClearTextToAnotherHost) {
    Harness h;
    const std::string port = std::to_string(h.tcp_port);
    auto right = token_file(h, kToken + "\n");
    auto off_host = cli({"--daemon", "http://0.0.0.0:" + port, "eval", "--token-file", right, "-p", "mock", "1"});
    EXPECT_EQ(off_host.status, 64) << off_host.err;
    EXPECT_NE(off_host.err.find("never sent over plain http"), std::string::npos) << off_host.err;
    EXPECT_EQ(off_host.out, "");
    for (const std::string host : {"localhost", "127.0.0.1"}) {
        auto ok = cli({"--daemon", "http://" + host + ":" + port, "eval", "--token-file", right, "-p", "mock", "(+ 1 2)"});
        EXPECT_EQ(ok.status, 0) << host << ": " << ok.err;
        EXPECT_EQ(ok.out, "3\n") << host;
    }
}

TEST(CliClient, AnUnreachableDaemonIsASetupErrorSayingWhere) {
    std::string dir = make_temp_dir();
    auto r = cli({"--daemon", "unix:" + dir + "/none.sock", "eval", "-p", "mock", "1"});
    EXPECT_EQ(r.status, 125);
    EXPECT_NE(r.err.find("cannot connect to the daemon at unix:" + dir + "/none.sock"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("No such file or directory"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
    auto j = cli({"--daemon", "unix:" + dir + "/none.sock", "eval", "--json", "-p", "mock", "1"});
    EXPECT_EQ(j.status, 125);
    auto doc = nlohmann::json::parse(j.out);
    EXPECT_EQ(doc["status"], "unavailable");
    EXPECT_EQ(doc["error"]["reason"], "unavailable");
    // A TCP port nobody listens on.
    auto tcp = cli({"--daemon", "http://127.0.0.1:1", "eval", "-p", "mock", "1"});
    EXPECT_EQ(tcp.status, 125);
    EXPECT_NE(tcp.err.find("cannot connect to the daemon at http://127.0.0.1:1"), std::string::npos) << tcp.err;
    microvm::host::remove_tree(dir);
}

TEST(CliClient, ABusyDaemonSaysSoAndWhenToRetry) {
    Harness h([](microvm::service::ServiceOptions& o) { o.admission = {1, 0}; });
    // One execution holds the only slot.
    std::thread busy([&] {
        h.call_json("POST", "/v1/executions", {{"provider", "mock"}, {"timeout", "3s"}, {"eval", "(loop [] (recur))"}});
    });
    for (int i = 0; i < 100 && h.metric("microvmd_active_executions{provider=\"mock\"}") < 1; ++i)
        std::this_thread::sleep_for(20ms);
    auto r = cli({"--daemon", "unix:" + h.socket_path, "eval", "-p", "mock", "1"});
    busy.join();
    EXPECT_EQ(r.status, 125);
    EXPECT_NE(r.err.find("error: busy:"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("Retry-After: 1"), std::string::npos) << r.err;
}

TEST(CliClient, RefusesWhatTheDaemonCannotHonour) {
    const std::string addr = "unix:/nonexistent.sock";  // refused before any connection
    auto config = cli({"--daemon", addr, "eval", "--config", "/etc/x.toml", "-p", "mock", "1"});
    EXPECT_EQ(config.status, 64);
    EXPECT_NE(config.err.find("--config: the daemon's settings apply"), std::string::npos) << config.err;
    auto wasm = cli({"--daemon", addr, "wasm", "x.wasm"});
    EXPECT_EQ(wasm.status, 64);
    EXPECT_NE(wasm.err.find("--daemon applies to eval and run"), std::string::npos) << wasm.err;
    auto bad = cli({"--daemon", "ftp://x", "eval", "-p", "mock", "1"});
    EXPECT_EQ(bad.status, 64);
    EXPECT_NE(bad.err.find("expected unix:PATH"), std::string::npos) << bad.err;
    // JSON carries text: an argument that is not UTF-8 is a usage error naming it, not an
    // exception's setup_error (a review, 2026-12-06).
    auto binary = cli({"--daemon", addr, "run", "-p", "process", "--", "/bin/echo", "\xff"});
    EXPECT_EQ(binary.status, 64) << binary.err;
    EXPECT_NE(binary.err.find("the run given holds bytes that are not UTF-8"), std::string::npos) << binary.err;
}

TEST(CliClient, CtrlCCancelsTheExecutionOnTheDaemon) {
    Harness h;
    const std::string addr = "unix:" + h.socket_path;  // no allocation after fork
    pid_t pid = ::fork();
    if (pid == 0) {
        int null = ::open("/dev/null", O_WRONLY);
        ::dup2(null, 1);
        ::dup2(null, 2);
        ::execl(MICROVM_BINARY, MICROVM_BINARY, "--daemon", addr.c_str(), "eval", "-p", "mock", "--timeout",
                "30s", "(loop [] (recur))", nullptr);
        ::_exit(127);
    }
    for (int i = 0; i < 200 && h.metric("microvmd_active_executions{provider=\"mock\"}") < 1; ++i)
        std::this_thread::sleep_for(20ms);
    ::kill(pid, SIGINT);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 130);
    // The daemon saw the connection close and cancelled the execution.
    for (int i = 0; i < 200 && executions(h, "mock", "killed") < 1; ++i) std::this_thread::sleep_for(20ms);
    EXPECT_EQ(executions(h, "mock", "killed"), 1);
}

TEST(CliClient, HttpsChecksTheDaemonsCertificate) {
    TlsFrontend tls;
    ASSERT_TRUE(tls.ready);
    tls.frontend->start();
    const std::string &dir = tls.dir, &cert = tls.cert;
    const std::string addr = "https://127.0.0.1:" + std::to_string(tls.port());
    const std::string token = dir + "/token";
    {
        std::FILE* f = std::fopen(token.c_str(), "w");
        std::fputs(kToken.c_str(), f);
        std::fclose(f);
        ::chmod(token.c_str(), 0600);
    }
    auto ok = cli({"--daemon", addr, "--token-file", token, "--daemon-ca", cert, "eval", "-p", "mock", "(+ 20 22)"});
    EXPECT_EQ(ok.status, 0) << ok.err;
    EXPECT_EQ(ok.out, "42\n");
    // A self-signed certificate nobody vouched for: refused, the token never sent.
    auto untrusted = cli({"--daemon", addr, "--token-file", token, "eval", "-p", "mock", "1"});
    EXPECT_EQ(untrusted.status, 125);
    EXPECT_NE(untrusted.err.find("TLS with the daemon at " + addr + " failed"), std::string::npos) << untrusted.err;
}
