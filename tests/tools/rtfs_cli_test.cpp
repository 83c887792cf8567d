// The `rtfs` command, driven as a user would: arguments, stdin, stdout, stderr, exit status.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <pty.h>
#include <sys/stat.h>
#include <termios.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/expectations.hpp"
#include "support/host_files.hpp"
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
             {"--timeout", "30", "eval", "1"},  // no unit: refused, as microvm refuses it
             {"--timeout", "3000000h", "eval", "1"},  // past 24 h (now + it overflowed)
         }) {
        CliResult r = rtfs(args);
        EXPECT_EQ(r.status, 64) << testing::PrintToString(args) << r.err;
        EXPECT_TRUE(r.err.starts_with("error: ")) << r.err;
    }
    EXPECT_EQ(rtfs({"--help"}).status, 0);
    // The durations microvm takes (rtfs::host::parse_duration), hours included.
    EXPECT_EQ(rtfs({"--timeout", "1h", "eval", "1"}).status, 0);
    EXPECT_EQ(rtfs({"--timeout", "1.5s", "eval", "1"}).status, 0);
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

// --json is pure ASCII, as microvm's: a right-to-left override or a C1 control the program chose
// is \u-escaped (a review, 2026-12-06).
TEST(RtfsCli, JsonIsPureAscii) {
    CliResult r = rtfs({"--json", "eval", R"((str "a\u202eb\u009bc"))"});
    EXPECT_EQ(r.status, 0) << r.err;
    for (char c : r.out) ASSERT_LT(static_cast<unsigned char>(c), 0x80) << r.out;
    EXPECT_EQ(nlohmann::json::parse(r.out)["value"], "\"a\xe2\x80\xae" "b\xc2\x9b" "c\"");
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

// A quote, a deref or a discard at a line's end wants the form on the next line, as an open
// parenthesis does (the REPL matched three of the reader's messages and missed these).
TEST(RtfsCli, ReplReadsOnAfterAPrefixThatWantsAForm) {
    CliResult r = rtfs({"repl"}, "'\n[1 2]\n#_\n:gone :kept\n");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "[1 2]\n:kept\n");
    EXPECT_EQ(r.err, "");
}

// An interactive `rtfs repl` (on a terminal: line editing and history) with HOME set to home:
// at its prompt it is given one line, then Ctrl-D at the next. 10 s at most, then it is killed.
void repl_on_a_terminal(const std::string& home) {
    int master = -1;
    const pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        ::setenv("HOME", home.c_str(), 1);
        ::execl(RTFS_BINARY, "rtfs", "repl", nullptr);
        ::_exit(127);
    }
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::string seen;
    // Reads the terminal until it shows `want` after `from` (true), ends, or `by` passes.
    auto read_until = [&](const std::string& want, size_t from, std::chrono::steady_clock::time_point by) {
        char buf[4096];
        while (seen.find(want, from) == std::string::npos) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(by - std::chrono::steady_clock::now());
            pollfd p{master, POLLIN, 0};
            if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
            const ssize_t n = ::read(master, buf, sizeof buf);
            if (n <= 0) return false;  // EIO: the REPL has gone
            seen.append(buf, static_cast<size_t>(n));
        }
        return true;
    };
    // libedit reads keys in raw mode, which it sets after its prompt shows: a key typed before
    // is the terminal's (a Ctrl-D then is echoed and lost). Each key waits for raw mode.
    auto raw_mode = [&] {
        for (;;) {
            termios t{};
            if (::tcgetattr(master, &t) == 0 && !(t.c_lflag & ICANON)) return true;
            if (std::chrono::steady_clock::now() >= until) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    };
    EXPECT_TRUE(read_until("rtfs> ", 0, until)) << seen;
    const size_t at = seen.size();
    EXPECT_TRUE(raw_mode());
    EXPECT_EQ(::write(master, "(+ 1 2)\r", 8), 8);
    EXPECT_TRUE(read_until("rtfs> ", at, until)) << seen;
    auto running = [&] {
        siginfo_t info{};
        return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == 0;
    };
    EXPECT_TRUE(raw_mode());
    EXPECT_EQ(::write(master, "\x04", 1), 1);
    read_until("\x01never\x01", 0, until);  // to its end (EIO)
    while (running() && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) != pid) {
        ADD_FAILURE() << "the REPL did not end: " << seen;
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
    }
    ::close(master);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << " " << seen;
}

// The attack (red team, 2026-12-06): a user leaves ~/.rtfs_history as a link to a file only
// root may write, and root runs `rtfs repl` keeping that user's HOME (sudo -E, su -m): the
// history was written through the link (onto /etc/passwd, a passwordless root account). A HOME
// of another user's keeps no history; in a HOME of one's own a link there is replaced, never
// followed.
TEST(RtfsCli, TheReplsHistoryIsNeverWrittenThroughAPlantedLink) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "the attack needs a HOME of another user's");
    const testsupport::HostDir scratch("rtfs-history");
    const std::string base = scratch.path().string();
    const std::string victim = base + "/victim";
    std::ofstream(victim) << "root:x:0:0::/root:/bin/bash\n";
    ASSERT_EQ(::chmod(victim.c_str(), 0644), 0);
    auto victim_intact = [&] {
        struct stat st;
        EXPECT_EQ(::stat(victim.c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 07777, 0644u);
        EXPECT_EQ(testsupport::read_text(victim), "root:x:0:0::/root:/bin/bash\n");
    };

    const std::string others = base + "/others";
    ASSERT_EQ(::mkdir(others.c_str(), 0755), 0);
    ASSERT_EQ(::symlink(victim.c_str(), (others + "/.rtfs_history").c_str()), 0);
    ASSERT_EQ(::lchown((others + "/.rtfs_history").c_str(), 12345, 12345), 0);
    ASSERT_EQ(::chown(others.c_str(), 12345, 12345), 0);
    repl_on_a_terminal(others);
    victim_intact();

    const std::string own = base + "/own";
    ASSERT_EQ(::mkdir(own.c_str(), 0700), 0);
    ASSERT_EQ(::symlink(victim.c_str(), (own + "/.rtfs_history").c_str()), 0);
    repl_on_a_terminal(own);
    victim_intact();
    struct stat st;
    ASSERT_EQ(::lstat((own + "/.rtfs_history").c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode)) << "the history is not a file of its own";
    EXPECT_NE(testsupport::read_text(own + "/.rtfs_history").find("(+"), std::string::npos) << "no history kept: " << testsupport::read_text(own + "/.rtfs_history");
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
