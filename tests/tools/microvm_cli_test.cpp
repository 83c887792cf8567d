// The `microvm` command, driven as a user would (spec section 4), on the mock provider; the
// sandboxing providers' CLI behaviour is tested with those providers.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <nlohmann/json.hpp>

#include "host/elf_file.hpp"
#include "microvm/json_output.hpp"
#include "support/host_files.hpp"
#include "support/run_command.hpp"
#include "support/trusted_temp.hpp"

namespace {

using testsupport::CommandResult;
using testsupport::TempFile;

CommandResult microvm(std::vector<std::string> args, const std::string& stdin_text = "") {
    args.insert(args.begin(), MICROVM_BINARY);
    return testsupport::run_command(args, stdin_text);
}

// Start-up (issue 15): each shared library costs every run its loading and relocation (libcrypto
// 2.5 ms, libidn2 with libunistring 1.5 ms, libseccomp 0.8 ms here, against 1 ms for /bin/true).
// What the CLI needs beyond libc is linked in or loaded where used (libcurl, libcrypto).
TEST(MicrovmCli, NeedsNoSharedLibraryBeyondTheCLibrary) {
    auto elf = microvm::host::read_elf(MICROVM_BINARY);
    ASSERT_TRUE(elf) << elf.error().message;
    for (const std::string& lib : elf->needed) {
        EXPECT_TRUE(lib == "libc.so.6" || lib == "libm.so.6" || lib.starts_with("ld-linux"))
            << MICROVM_BINARY << " needs " << lib;
    }
}

TEST(MicrovmCli, EvalOnMockPrintsTheValue) {
    auto r = microvm({"eval", "-p", "mock", "(+ 1 2)"});
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.out, "3\n");
    EXPECT_EQ(r.err, "");
}

TEST(MicrovmCli, JsonOutputHasTheDocumentedFields) {
    auto r = microvm({"eval", "-p", "mock", "--json", "(+ 1 2)"});
    ASSERT_EQ(r.status, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["status"], "ok");
    EXPECT_EQ(j["value"], "3");
    EXPECT_EQ(j["provider"], "mock");
    EXPECT_TRUE(j["execution_id"].get<std::string>().starts_with("exec-"));
    EXPECT_TRUE(j["error"].is_null());
    for (const char* k : {"exit_code", "signal", "stdout", "stderr", "stdout_truncated",
                          "stderr_truncated"})
        EXPECT_TRUE(j.contains(k)) << k;
    const auto& m = j["metadata"];
    EXPECT_GT(m["duration_ms"].get<double>(), 0.0);
    EXPECT_TRUE(m["cpu_time_ms"].is_number());
    EXPECT_EQ(m["isolation"], "none");
    EXPECT_TRUE(m["network_requests"].is_array());
    EXPECT_TRUE(m["file_operations"].is_array());
}

TEST(MicrovmCli, TimeoutExits124WithinASecond) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = microvm({"eval", "-p", "mock", "--timeout", "200ms", "(loop [] (recur))"});
    auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(r.status, 124) << r.err;
    EXPECT_LT(took, std::chrono::seconds(1));
    EXPECT_GE(took, std::chrono::milliseconds(200));
    EXPECT_NE(r.err.find("timeout"), std::string::npos) << r.err;
}

TEST(MicrovmCli, DeniedCapabilityExits126NamingIt) {
    auto r = microvm({"eval", "-p", "mock", "(println \"hi\")"});
    EXPECT_EQ(r.status, 126);
    EXPECT_NE(r.err.find("ccos.io.println"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
}

TEST(MicrovmCli, AllowedCapabilityRuns) {
    auto r = microvm({"eval", "-p", "mock", "--allow", "ccos.io.println", "(do (println \"hi\") 7)"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "hi\n7\n");
}

TEST(MicrovmCli, UnknownProviderExits125NamingIt) {
    auto r = microvm({"eval", "-p", "nope", "1"});
    EXPECT_EQ(r.status, 125);
    EXPECT_NE(r.err.find("nope"), std::string::npos) << r.err;
}

TEST(MicrovmCli, RtfsErrorExits1AndReadErrorExits2) {
    auto r = microvm({"eval", "-p", "mock", "(/ 1 0)"});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("DivisionByZero"), std::string::npos) << r.err;
    r = microvm({"eval", "-p", "mock", "(+ 1"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("ReadError"), std::string::npos) << r.err;
}

TEST(MicrovmCli, MemoryLimitExits137) {
    auto r = microvm({"eval", "-p", "mock", "--memory", "16", "(loop [v [] i 0] (recur [i v] (inc i)))"});
    EXPECT_EQ(r.status, 137) << r.err;
}

TEST(MicrovmCli, UsageErrorsExit64) {
    EXPECT_EQ(microvm({"eval", "-p", "mock", "--timeout", "soon", "1"}).status, 64);
    EXPECT_EQ(microvm({"eval", "-p", "mock", "--net", "sometimes", "1"}).status, 64);
    EXPECT_EQ(microvm({"eval", "-p", "mock", "--fs", "rw", "1"}).status, 64);
    EXPECT_EQ(microvm({"eval", "--bogus-flag", "1"}).status, 64);
    EXPECT_EQ(microvm({"frobnicate"}).status, 64);
    EXPECT_EQ(microvm({}).status, 64);
}

// Only the invoked subcommand's options are declared (start-up): each subcommand still has all
// of its own, a top-level option's value that reads like a subcommand is not taken for one, and
// the top-level help still lists every subcommand.
TEST(MicrovmCli, EachSubcommandKeepsItsOptions) {
    const std::vector<std::pair<std::string, std::string>> own = {
        {"eval", "--file"}, {"run", "--fs"},      {"wasm", "MODULE"},
        {"bench", "--runs"}, {"providers", "--json"}};
    for (const auto& [sub, option] : own) {
        auto r = microvm({sub, "--help"});
        EXPECT_EQ(r.status, 0) << sub;
        EXPECT_NE(r.out.find(option), std::string::npos) << sub << ": " << r.out;
    }
    auto help = microvm({"--help"});
    for (const auto& [sub, option] : own) {
        EXPECT_NE(help.out.find(sub), std::string::npos) << sub;
    }
    // "run" is --token-file's value here; eval is the subcommand (and --token-file needs
    // --daemon: a usage error that names it, not one about run's missing program).
    auto r = microvm({"--token-file", "run", "eval", "-p", "mock", "(+ 1 2)"});
    EXPECT_EQ(r.status, 64);
    EXPECT_NE(r.err.find("--token-file is for --daemon"), std::string::npos) << r.err;
    EXPECT_EQ(microvm({"eval", "-p", "mock", "--", "(+ 1 2)"}).out, "3\n");
}

TEST(MicrovmCli, EmptyFlagValuesAreUsageErrors) {
    // An empty value is never read as "the default".
    for (const char* flag : {"--memory", "--cpu", "--timeout", "--net", "--fs", "--security",
                             "--provider", "--profile", "--config", "--capability", "--allow"}) {
        auto r = microvm({"eval", "-p", "mock", flag, "", "(+ 1 2)"});
        if (std::string(flag) == "--provider") r = microvm({"eval", flag, "", "(+ 1 2)"});
        EXPECT_EQ(r.status, 64) << flag << ": " << r.err;
        EXPECT_NE(r.err.find(std::string(flag) + ": empty value"), std::string::npos)
            << flag << ": " << r.err;
        EXPECT_EQ(r.out, "") << flag;
    }
}

TEST(MicrovmCli, CapabilityRunsWithItsSettingsAndMustBeAllowed) {
    TempFile settings("default_provider = \"mock\"\n"
                      "[capability_configs.\"ccos.io.println\"]\ntimeout = \"100ms\"\n",
                      testsupport::trusted_temp_base());
    // The capability's timeout (100 ms) applies, not the default 30 s.
    auto r = microvm({"eval", "--config", settings.path(), "--capability", "ccos.io.println",
                      "--allow", "ccos.io.println", "(loop [] (recur))"});
    EXPECT_EQ(r.status, 124) << r.err;
    // Any other execution keeps the defaults.
    r = microvm({"eval", "--config", settings.path(), "--json", "(+ 1 2)"});
    EXPECT_EQ(r.status, 0) << r.err;
    // A capability that is not allowed is a policy violation naming it.
    r = microvm({"eval", "--config", settings.path(), "--capability", "ccos.io.println", "1"});
    EXPECT_EQ(r.status, 126) << r.err;
    EXPECT_NE(r.err.find("capability 'ccos.io.println' is not permitted"), std::string::npos)
        << r.err;
}

TEST(MicrovmCli, EvalFromFileAndStdin) {
    TempFile f("(defn sq [x] (* x x))\n(sq 9)\n");
    auto r = microvm({"eval", "-p", "mock", "-f", f.path()});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "81\n");
    r = microvm({"eval", "-p", "mock", "-"}, "(* 6 7)");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "42\n");
}

// A program's source is read no further than the most it may be (one guest-protocol frame):
// /dev/zero was read until memory ran out (a red team's 300 MB of blanks on standard input took
// 49 s and 1.8 GB before the frame's own refusal). `timeout` bounds each run, so a regression
// fails (124) instead of hanging the test.
TEST(MicrovmCli, EvalSourceIsReadNoFurtherThanItsLimit) {
    auto r = testsupport::run_command({"/usr/bin/timeout", "20", MICROVM_BINARY, "eval", "-p", "mock",
                                       "-f", "/dev/zero"},
                                      "");
    EXPECT_EQ(r.status, microvm::kExitUsage) << r.err;
    EXPECT_NE(r.err.find("cannot read /dev/zero: a read failed or it is over 67108864 bytes"), std::string::npos)
        << r.err;
    r = testsupport::run_command({"/usr/bin/timeout", "20", MICROVM_BINARY, "eval", "-p", "mock", "-"},
                                 std::string((64u << 20) + 1, ' '));
    EXPECT_EQ(r.status, microvm::kExitUsage) << r.err;
    EXPECT_NE(r.err.find("cannot read standard input: a read failed or it is over"), std::string::npos) << r.err;
}

// A named FIFO where a source file was expected (a sandbox with rw on the directory can leave
// one) held the CLI in open(2) for ever, before --timeout applied (red team, LOW). It is
// refused at once; an anonymous pipe (-f <(...)) is still read.
TEST(MicrovmCli, EvalRefusesANamedFifoInsteadOfWaitingForAWriter) {
    TempFile planted;  // its path, now a FIFO's, removed at the end
    const std::string fifo = planted.path();
    ASSERT_EQ(::unlink(fifo.c_str()), 0);
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    auto r = testsupport::run_command({"/usr/bin/timeout", "20", MICROVM_BINARY, "eval", "-p",
                                       "mock", "--timeout", "1s", "-f", fifo},
                                      "");
    EXPECT_EQ(r.status, microvm::kExitUsage) << r.err;
    EXPECT_NE(r.err.find("is a named FIFO"), std::string::npos) << r.err;
    r = testsupport::run_command(
        {"/bin/bash", "-c", std::string(MICROVM_BINARY) + " eval -p mock -f <(echo '(+ 40 2)')"}, "");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "42\n");
}

// A value reaches a terminal with its control characters escaped too: a symbol's name is
// printed as is, and `(symbol "\u001b]0;PWNED\u0007")` set the terminal's title (red team,
// 2026-12-04). Into a pipe the value is exact. `script` (bsdutils, essential) gives it a terminal.
TEST(MicrovmCli, AValueShowsControlCharactersEscapedOnATerminal) {
    const std::string program = R"((symbol "\u001b]0;PWNED\u0007x"))";
    auto piped = microvm({"eval", "-p", "mock", program});
    EXPECT_EQ(piped.out, "\x1b]0;PWNED\x07x\n");
    auto shown = testsupport::run_command(
        {"/usr/bin/script", "-qec", std::string(MICROVM_BINARY) + " eval -p mock '" + program + "'", "/dev/null"}, "");
    EXPECT_NE(shown.out.find("\\x1b]0;PWNED\\x07x"), std::string::npos) << shown.out;
    EXPECT_EQ(shown.out.find('\x1b'), std::string::npos) << shown.out;
}

// An error message quoting what the program wrote reaches a terminal with its control
// characters escaped: a line break could forge another "error:" line, an escape sequence act on
// the terminal (red team, LOW).
TEST(MicrovmCli, ErrorMessagesShowControlCharactersEscaped) {
    auto r = microvm({"eval", "-p", "mock", R"((throw (error "bad\nerror: forged \u001b[31mRED \u0085 tab\there")))"});
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_EQ(r.err, "error: UserError: bad\\nerror: forged \\x1b[31mRED \\u0085 tab\there (at 1:8)\n");
    // A byte that is no part of valid UTF-8 (0x9b: CSI to an 8-bit terminal), a right-to-left
    // override, a C1 control in UTF-8 (the diff's red team).
    TempFile source("(foo\x9b" "31mRED\xe2\x80\xae" "abc\xc2\x9b)");
    r = microvm({"eval", "-p", "mock", "-f", source.path()});
    EXPECT_NE(r.err.find("foo\\x9b31mRED\\u202eabc\\u009b"), std::string::npos) << r.err;
}

// Invisible characters in a message are shown escaped too: tag characters (text a reader does
// not see, "ASCII smuggling"), zero-width and bidirectional marks, separators (red team,
// 2026-12-06).
TEST(MicrovmCli, ErrorMessagesShowInvisibleCharactersEscaped) {
    TempFile source("(throw (error \"ok\xf3\xa0\x81\x89\xe2\x80\x8b\xd8\x9c\xe2\x80\xa8\xef\xbb\xbf\xc2\xad"
                    "\xef\xb8\x8f\xcd\x8f\xe1\xa0\x8b" "end\"))");
    auto r = microvm({"eval", "-p", "mock", "-f", source.path()});
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_NE(r.err.find("ok\\U000e0049\\u200b\\u061c\\u2028\\ufeff\\u00ad\\ufe0f\\u034f\\u180bend"), std::string::npos)
        << r.err;
}

// The CLI's messages about a file name it was given show the name escaped: a glob over a
// directory a sandbox could write picks names of the sandbox's choosing (red team, 2026-12-06:
// OSC 52 wrote the operator's clipboard).
TEST(MicrovmCli, AFileNameInAMessageIsShownEscaped) {
    const testsupport::HostDir dir("cli-names");
    const std::string fifo = dir.path().string() + "/j\x1b]52;c;cm0K\x07.rtfs";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0) << std::strerror(errno);
    auto r = microvm({"eval", "-p", "mock", "-f", fifo});
    EXPECT_EQ(r.status, 64) << r.err;
    EXPECT_NE(r.err.find("j\\x1b]52;c;cm0K\\x07.rtfs"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << r.err;
    r = microvm({"wasm", fifo});
    EXPECT_EQ(r.status, 64) << r.err;
    EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << r.err;
}

// --json is pure ASCII: C1 controls, bidirectional overrides and other characters a program
// chose are \u-escaped, so that the document acts on no terminal or viewer that shows it (red
// team, 2026-12-06); a parser reads the same text back.
TEST(MicrovmCli, JsonIsPureAscii) {
    auto r = microvm({"eval", "-p", "mock", "--json", R"((throw (error "done\u202e\u009b8m\u2066 caf\u00e9")))"});
    EXPECT_EQ(r.status, 1) << r.err;
    for (char c : r.out) ASSERT_LT(static_cast<unsigned char>(c), 0x80) << r.out;
    const std::string message = nlohmann::json::parse(r.out)["error"]["message"];
    EXPECT_EQ(message.rfind("done\xe2\x80\xae\xc2\x9b" "8m\xe2\x81\xa6 caf\xc3\xa9", 0), 0u) << message;
}

// A name in the settings or the environment that is not UTF-8 (PATH, from which providers are
// found) is replaced in `providers --json`, not an abort (red team, 2026-12-06: rc 134).
TEST(MicrovmCli, ProvidersJsonSurvivesAPathThatIsNotUtf8) {
    auto r = testsupport::run_command({"/usr/bin/env", "PATH=/usr/bin:/bin:/nonexistent\xff", MICROVM_BINARY, "providers", "--json"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(nlohmann::json::parse(r.out, nullptr, false).is_array()) << r.out;
}

TEST(MicrovmCli, MockRefusesExternalProgramsPointingElsewhere) {
    auto r = microvm({"run", "-p", "mock", "--", "/bin/echo", "hi"});
    EXPECT_EQ(r.status, 126) << r.err;
    EXPECT_NE(r.err.find("process"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
}

TEST(MicrovmCli, ProvidersTableListsEveryProvider) {
    auto r = microvm({"providers"});
    EXPECT_EQ(r.status, 0);
    for (const char* p : {"NAME", "AVAILABLE", "ISOLATION", "mock", "process", "wasm"})
        EXPECT_NE(r.out.find(p), std::string::npos) << p << "\n" << r.out;
    r = microvm({"providers", "--json"});
    auto j = nlohmann::json::parse(r.out);
    ASSERT_TRUE(j.is_array());
    bool saw_mock = false;
    for (const auto& p : j)
        if (p["name"] == "mock") {
            saw_mock = true;
            EXPECT_EQ(p["available"], true);
            EXPECT_EQ(p["isolation"], "none");
        }
    EXPECT_TRUE(saw_mock);
}

TEST(MicrovmCli, SettingsFileChoosesTheProviderAndBadFilesNameTheLine) {
    const auto trusted = testsupport::trusted_temp_base();
    TempFile good("default_provider = \"mock\"\n[default_config]\ntimeout = \"5s\"\n", trusted);
    auto r = microvm({"eval", "--config", good.path(), "--json", "(+ 2 2)"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["provider"], "mock");
    TempFile bad("default_provider = \"mock\"\n[default_config]\ntimeout = 30\n", trusted);
    r = microvm({"eval", "--config", bad.path(), "1"});
    EXPECT_EQ(r.status, 64);
    EXPECT_NE(r.err.find(":3:"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("timeout"), std::string::npos) << r.err;
}

// A provider's table that would never apply (a misspelt name) or is wrong for a provider this
// run does not use is refused all the same, located (red team, 2026-12-06).
TEST(MicrovmCli, EveryProvidersTableIsCheckedWhicheverRuns) {
    const auto trusted = testsupport::trusted_temp_base();
    TempFile misspelt("[provider_configs.procss]\ncgroup_parent = \"x\"\n", trusted);
    auto r = microvm({"eval", "--config", misspelt.path(), "-p", "mock", "(+ 1 2)"});
    EXPECT_EQ(r.status, 64) << r.out;
    EXPECT_NE(r.err.find(":1: unknown provider 'procss'"), std::string::npos) << r.err;
    TempFile unused("[provider_configs.gvisor]\nbogus_key = 1\n", trusted);
    r = microvm({"eval", "--config", unused.path(), "-p", "mock", "(+ 1 2)"});
    EXPECT_EQ(r.status, 64) << r.out;
    EXPECT_NE(r.err.find("unknown key 'bogus_key'"), std::string::npos) << r.err;
}

// The CLI's stdout may be a pipe a parent made non-blocking (O_NONBLOCK lives on the open file
// description, which the CLI shares): a reader slower than the output then made write(2) fail
// with EAGAIN, and the CLI dropped the rest of the program's output and of its value without a
// word. It waits for the pipe instead.
// What a CLI run writes into a pipe that never blocks, read only after `delay`.
std::string output_into_a_non_blocking_pipe(const std::vector<std::string>& args) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return "pipe2 failed";
    ::fcntl(out[1], F_SETFL, ::fcntl(out[1], F_GETFL) | O_NONBLOCK);
    std::vector<std::string> argv_s = args;
    argv_s.insert(argv_s.begin(), MICROVM_BINARY);
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(out[1], 1);
        ::execv(MICROVM_BINARY, argv.data());
        _exit(127);
    }
    ::close(out[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let the pipe fill first
    std::string got;
    char buf[65536];
    for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) != 0;) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        got.append(buf, static_cast<size_t>(n));
    }
    ::close(out[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) got += "\n(exit status " + std::to_string(status) + ")";
    return got;
}

TEST(MicrovmCli, ANonBlockingStdoutThatFillsLosesNothing) {
    constexpr size_t kChars = 400000;  // several times a pipe's 64 KiB
    const std::string source = "(do (println (apply str (repeat " + std::to_string(kChars) +
                               " \"o\"))) (apply str (repeat " + std::to_string(kChars) + " \"v\")))";
    const std::string plain =
        output_into_a_non_blocking_pipe({"eval", "-p", "mock", "--allow", "ccos.io.println", source});
    EXPECT_EQ(plain, std::string(kChars, 'o') + "\n\"" + std::string(kChars, 'v') + "\"\n");
    // --json: the result, with the program's output in it, is one line written whole.
    const std::string json =
        output_into_a_non_blocking_pipe({"eval", "-p", "mock", "--json", "--allow", "ccos.io.println", source});
    ASSERT_FALSE(json.empty());
    EXPECT_EQ(json.back(), '\n');
    auto parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(parsed.is_discarded()) << json.size() << " bytes, not one JSON document";
    EXPECT_EQ(parsed["stdout"], std::string(kChars, 'o') + "\n");
}

TEST(MicrovmCli, TestProfileUsesMock) {
    auto r = microvm({"eval", "--profile", "test", "--json", "(+ 1 1)"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["provider"], "mock");
}

}  // namespace
