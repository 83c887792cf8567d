// The `rtfs` command, driven as a user would: arguments, stdin, stdout, stderr, exit status.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "support/run_command.hpp"
#include "support/scoped_env.hpp"

namespace {

namespace fs = std::filesystem;

using CliResult = testsupport::CommandResult;
using testsupport::TempFile;

CliResult rtfs(const std::vector<std::string>& args, const std::string& stdin_text = "") {
    std::vector<std::string> argv{RTFS_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    return testsupport::run_command(argv, stdin_text);
}

// The attack (red team, 2026-12-04): OpenSSL read openssl.cnf when first used, and a config can
// load modules into the process: a sandbox granted rw= over /etc/ssl planted one, which root's
// next run executed. No process of the project reads it: here libcurl's initialisation (an
// http-fetch), with $OPENSSL_CONF naming a file whose opening is watched.
TEST(RtfsCli, OpenSslsConfigurationFileIsNeverRead) {
    TempFile config("openssl_conf = openssl_init\n[openssl_init]\n");
    const int watch = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    ASSERT_GE(watch, 0);
    ASSERT_GE(::inotify_add_watch(watch, config.path().c_str(), IN_OPEN), 0);
    CliResult r;
    {
        testsupport::ScopedEnv env("OPENSSL_CONF", config.path());
        r = rtfs({"--allow", "ccos.network.http-fetch", "eval", "(http-fetch \"http://127.0.0.1:9/\")"});
    }
    EXPECT_NE(r.err.find("Couldn't connect"), std::string::npos) << r.err;  // libcurl was initialised
    char events[4096];
    const ssize_t n = ::read(watch, events, sizeof events);
    ::close(watch);
    EXPECT_LT(n, 0) << "openssl.cnf ($OPENSSL_CONF) was opened";
}

TEST(RtfsCli, EvalPrintsTheValue) {
    CliResult r = rtfs({"eval", "(+ 1 2)"});
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.out, "3\n");
    EXPECT_EQ(r.err, "");
}

TEST(RtfsCli, RuntimeErrorExitsOneWithTheVariantOnStderr) {
    CliResult r = rtfs({"eval", "(/ 1 0)"});
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_TRUE(r.err.starts_with("error: DivisionByZero: ")) << r.err;
}

TEST(RtfsCli, ReadErrorExitsTwoWithLineAndColumn) {
    CliResult r = rtfs({"eval", "(+ 1"});
    EXPECT_EQ(r.status, 2);
    EXPECT_TRUE(r.err.starts_with("error: ReadError: ")) << r.err;
    EXPECT_TRUE(std::regex_search(r.err, std::regex("[0-9]+:[0-9]+"))) << r.err;
}

TEST(RtfsCli, UsageErrorsExit64) {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"--bogus", "eval", "1"},
             {},
             {"eval"},
             {"frobnicate"},
             {"--security", "lax", "eval", "1"},
             {"--security", "pure", "--allow", "ccos.io.println", "eval", "1"},
             {"--timeout", "soon", "eval", "1"},
         }) {
        CliResult r = rtfs(args);
        EXPECT_EQ(r.status, 64) << testing::PrintToString(args) << r.err;
        EXPECT_TRUE(r.err.starts_with("error: ")) << r.err;
    }
    EXPECT_EQ(rtfs({"--help"}).status, 0);
}

TEST(RtfsCli, FullSecurityPrintsBeforeTheResult) {
    CliResult r = rtfs({"eval", "(do (println \"hi\" 42) :done)", "--security", "full"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "hi 42\n:done\n");
}

TEST(RtfsCli, PureIsTheDefaultAndDeniesPrintln) {
    CliResult r = rtfs({"eval", "(println \"hi\")"});
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_TRUE(r.err.starts_with("error: SecurityViolation: ")) << r.err;
    EXPECT_NE(r.err.find("ccos.io.println"), std::string::npos) << r.err;
}

TEST(RtfsCli, AllowGrantsExactlyTheListedCapabilities) {
    CliResult r = rtfs({"--allow", "ccos.io.println", "eval", "(println \"ok\")"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "ok\nnil\n");
    r = rtfs({"--allow", "ccos.io.println", "eval", "(log \"no\")"});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("ccos.io.log"), std::string::npos) << r.err;
    r = rtfs({"--allow", "ccos.io.println", "--allow", "ccos.math.add", "eval",
              "(call :ccos.math.add {:a 1 :b 2})"});
    EXPECT_EQ(r.out, "3\n");
}

TEST(RtfsCli, RunReadsAFileOrStdin) {
    TempFile program("(defn sq [x] (* x x))\n(sq 12)\n");
    CliResult r = rtfs({"run", program.path()});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "144\n");
    r = rtfs({"run", "-"}, "(str \"from \" \"stdin\")");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "\"from stdin\"\n");
    r = rtfs({"run", "/nonexistent/program.rtfs"});
    EXPECT_EQ(r.status, 66);
    EXPECT_NE(r.err.find("No such file or directory"), std::string::npos) << r.err;
}

TEST(RtfsCli, HelloExampleRuns) {
    CliResult r = rtfs({"run", RTFS_EXAMPLES_DIR "/hello.rtfs", "--security", "full"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(r.out.starts_with("Hello, RTFS!\n")) << r.out;
}

TEST(RtfsCli, JsonShape) {
    CliResult r = rtfs({"--json", "eval", "(+ 1 2)"});
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(nlohmann::json::parse(r.out), nlohmann::json::parse(R"({"ok":true,"value":"3"})"));
    r = rtfs({"--json", "eval", "(/ 1 0)"});
    EXPECT_EQ(r.status, 1);
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["ok"], false);
    EXPECT_EQ(j["error"]["kind"], "DivisionByZero");
    EXPECT_EQ(j["error"]["message"], "Division by zero");
    EXPECT_EQ(j["error"]["line"], 1);
    EXPECT_EQ(j["error"]["column"], 1);
    // Program output does not break the JSON on stdout.
    r = rtfs({"--json", "--security", "full", "eval", "(do (println \"x\") 2)"});
    j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["value"], "2");
    EXPECT_EQ(j["output"], "x\n");
}

TEST(RtfsCli, ReplKeepsDefinitionsAndSurvivesErrors) {
    CliResult r = rtfs({"repl"},
                       "(defn twice [x]\n"
                       "  (* 2 x))\n"
                       "(/ 1 0)\n"
                       "(def base 20)\n"
                       "(+ (twice base)\n"
                       "   2)\n");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "#<function twice>\n20\n42\n");
    EXPECT_TRUE(r.err.starts_with("error: DivisionByZero")) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(RtfsCli, TimeoutInterruptsAnEndlessProgram) {
    CliResult r = rtfs({"--timeout", "200ms", "eval", "(loop [] (recur))"});
    EXPECT_EQ(r.status, 124);
    EXPECT_TRUE(r.err.starts_with("error: Interrupted: ")) << r.err;
    r = rtfs({"--timeout", "200ms", "--security", "full", "eval", "(sleep 600000)"});
    EXPECT_EQ(r.status, 124) << r.err;
}

TEST(RtfsCli, DeepRecursionRunsOnTheBigStack) {
    CliResult r = rtfs({"eval", "(defn f [n] (if (= n 0) 0 (+ 1 (f (- n 1))))) (f 10000)"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "10000\n");
    r = rtfs({"eval", "(defn f [n] (+ 1 (f n))) (f 1)"});
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(r.err.starts_with("error: RecursionLimit: ")) << r.err;
}

}  // namespace
