// `microvm bench`: its chart is a well-formed SVG with one bar per measured row, and --json
// carries the percentiles of every row. (A tiny N and the in-process mock provider keep it fast;
// this checks the command, it does not time anything.)
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "support/expectations.hpp"
#include "support/run_command.hpp"
#include "support/trusted_temp.hpp"

namespace {

using testsupport::run_command;
using testsupport::TempFile;

TEST(MicrovmBenchCli, SvgHasOneBarPerMeasuredRowAndIsWellFormed) {
    TempFile svg;
    auto r = run_command({MICROVM_BINARY, "bench", "--runs", "3", "--compute-ms", "5", "-p", "mock",
                          "--no-peers",
                          "--json", "--svg", svg.path()});
    ASSERT_EQ(r.status, 0) << r.err;
    auto report = nlohmann::json::parse(r.out);
    size_t measured = 0;
    for (const auto& row : report["rows"]) {
        EXPECT_EQ(row["subject"], "mock");
        if (row["runs"].get<int>() > 0) {
            ++measured;
            EXPECT_LE(row["p50_ms"].get<double>(), row["p90_ms"].get<double>());
            EXPECT_LE(row["p90_ms"].get<double>(), row["p99_ms"].get<double>());
        }
    }
    // mock: the empty program, (+ 1 2) and the compute job.
    EXPECT_EQ(measured, 3u) << r.out;

    // Well-formed XML (python3's parser), an <svg> root, one rect of class "bar" per row.
    const std::string check =
        "import sys, xml.etree.ElementTree as ET\n"
        "root = ET.parse(sys.argv[1]).getroot()\n"
        "assert root.tag == '{http://www.w3.org/2000/svg}svg', root.tag\n"
        "bars = [e for e in root.iter('{http://www.w3.org/2000/svg}rect') "
        "if e.get('class') == 'bar']\n"
        "assert all(float(b.get('width')) > 0 for b in bars)\n"
        "print(len(bars))\n";
    auto parsed = run_command({"/usr/bin/python3", "-c", check, svg.path()});
    ASSERT_EQ(parsed.status, 0) << parsed.err << "\n" << svg.read();
    EXPECT_EQ(std::stoul(parsed.out), measured) << svg.read();
}

// A provider's row is its local run: with $MICROVM_DAEMON set in the shell (a daemon that is not
// there) the rows ran through it, every sample failed, under the local provider's name.
TEST(MicrovmBenchCli, RowsRunLocallyWhateverMicrovmDaemonSays) {
    auto r = run_command({"/usr/bin/env", "MICROVM_DAEMON=unix:/nonexistent/microvmd.sock", MICROVM_BINARY, "bench",
                          "--runs", "2", "--compute-ms", "5", "-p", "mock", "--no-peers", "--json"});
    ASSERT_EQ(r.status, 0) << r.err;
    auto report = nlohmann::json::parse(r.out);
    ASSERT_EQ(report["rows"].size(), 3u) << r.out;
    for (const auto& row : report["rows"]) EXPECT_EQ(row["runs"].get<int>(), 2) << row.dump();
    // --daemon-rows takes an address as --daemon does.
    auto bad = run_command({MICROVM_BINARY, "bench", "-p", "mock", "--no-peers", "--daemon-rows", "tcp:x"});
    EXPECT_EQ(bad.status, 64) << bad.err;
    EXPECT_NE(bad.err.find("--daemon-rows"), std::string::npos) << bad.err;
}

// The attack (red team, 2026-12-03): someone else plants a symlink at the chart's name in a
// shared directory; writing the chart through it truncated the file it points to, root's too.
// The chart replaces the name instead.
TEST(MicrovmBenchCli, TheChartReplacesASymlinkAtItsNameAndNeverWritesThroughIt) {
    TempFile victim("precious\n");
    TempFile chart;
    std::filesystem::remove(chart.path());
    std::filesystem::create_symlink(victim.path(), chart.path());
    auto r = run_command({MICROVM_BINARY, "bench", "--runs", "1", "--compute-ms", "5", "-p", "mock",
                          "--no-peers", "--svg", chart.path()});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(victim.read(), "precious\n");
    EXPECT_FALSE(std::filesystem::is_symlink(chart.path()));
    EXPECT_NE(chart.read().find("<svg"), std::string::npos);
}

// `runsc do` hands a container's stdio to the sandbox user (fchown): `microvm bench` as root gave
// its peers the host's /dev/null as stdout and stderr, and left /dev/null owned by nobody (found
// 2026-12-05). Every command it times gets pipes.
TEST(MicrovmBenchCli, APeerIsNeverHandedTheHostsDevNull) {
    MICROVM_REQUIRE("gvisor", ::geteuid() == 0 && (::access("/usr/bin/runsc", X_OK) == 0 || ::access("/bin/runsc", X_OK) == 0),
                    "runsc do (a peer `microvm bench` runs as root) is not installed");
    struct stat before {};
    ASSERT_EQ(::stat("/dev/null", &before), 0);
    auto r = run_command({MICROVM_BINARY, "bench", "--runs", "1", "--compute-ms", "5", "-p", "mock"});
    struct stat after {};
    ASSERT_EQ(::stat("/dev/null", &after), 0);
    if (after.st_uid != before.st_uid || after.st_gid != before.st_gid) {
        (void)::chown("/dev/null", before.st_uid, before.st_gid);  // the host's, given back
    }
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("runsc do"), std::string::npos) << r.out;
    EXPECT_EQ(after.st_uid, before.st_uid) << "a peer was handed /dev/null";
    EXPECT_EQ(after.st_gid, before.st_gid);
}

// A fake `srt` in dir (a peer this machine does not have; where one is installed in a system
// directory, it is found first and the test is skipped): it notes in dir/leaked whether it was handed descriptor 77, then hangs.
std::string plant_hanging_srt(const std::string& dir, const std::string& marker) {
    const std::string srt = dir + "/srt";
    std::ofstream(srt) << "#!/bin/sh\n[ -e /proc/self/fd/77 ] && echo yes > " << dir << "/leaked\nexec sleep " << marker
                       << "\n";
    ::chmod(srt.c_str(), 0755);
    return srt;
}

// Whether a planted srt is the one found: the system directories come first.
bool srt_can_be_planted() {
    for (const char* dir : {"/usr/bin", "/bin", "/usr/local/bin"})
        if (std::filesystem::exists(std::string(dir) + "/srt")) return false;
    return true;
}
constexpr const char* kSystemSrt = "an srt installed in a system directory is found before the planted one";

bool a_process_runs(const std::string& command_line) {
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
        std::ifstream in(e.path() / "cmdline");
        std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::replace(cmd.begin(), cmd.end(), '\0', ' ');
        if (cmd.find(command_line) != std::string::npos && e.path().filename() != "self") return true;
    }
    return false;
}

// The attack (red team, 2026-12-06): a peer that hangs held `microvm bench` for ever (its runs
// had no limit, the row budget was looked at only between runs), and a descriptor the caller
// held open reached every peer, runsc among them. Each run is killed with its process group at
// the row budget and counted as failed; peers get descriptors 0-2 only.
TEST(MicrovmBenchCli, AHangingPeerIsKilledAtTheRowBudgetAndGetsNoDescriptorOfTheCallers) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "a peer in a directory root trusts");
    MICROVM_REQUIRE("no-system-srt", srt_can_be_planted(), kSystemSrt);
    const std::string dir = testsupport::make_trusted_temp_dir("bench-peer");
    ASSERT_FALSE(dir.empty());
    const std::string marker = std::to_string(900000 + ::getpid() % 99999);
    plant_hanging_srt(dir, marker);
    const int held = ::open("/dev/null", O_RDONLY);  // inheritable, as a caller's tty or log
    ASSERT_EQ(::dup2(held, 77), 77);
    ::close(held);
    const auto started = std::chrono::steady_clock::now();
    auto r = run_command({"/usr/bin/env", "PATH=" + dir + ":/usr/bin:/bin", MICROVM_BINARY, "bench", "--runs", "1",
                          "--compute-ms", "5", "--row-budget", "1", "-p", "mock", "--json"});
    const auto took = std::chrono::steady_clock::now() - started;
    ::close(77);
    const bool leaked = std::filesystem::exists(dir + "/leaked");
    const bool left = a_process_runs("sleep " + marker);
    if (left) (void)std::system(("pkill -f 'sleep " + marker + "'").c_str());
    std::filesystem::remove_all(dir);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_LT(took, std::chrono::seconds(60));
    size_t srt_rows = 0;
    const auto report = nlohmann::json::parse(r.out);
    for (const auto& row : report["rows"]) {
        if (row["subject"] != "srt") continue;
        ++srt_rows;
        EXPECT_EQ(row["runs"], 0) << row.dump();
        EXPECT_NE(row.dump().find("killed at the row budget"), std::string::npos) << row.dump();
    }
    EXPECT_GT(srt_rows, 0u) << r.out;
    EXPECT_FALSE(left) << "the hanging peer's process outlived its run";
    EXPECT_FALSE(leaked) << "the peer was handed the caller's descriptor 77";
}

// What a run leaves running in the background goes with it: left, it loaded the rows measured
// after it, and outlived the benchmark (a review, 2026-12-06).
TEST(MicrovmBenchCli, WhatARunLeavesInTheBackgroundIsKilledWithIt) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "a peer in a directory root trusts");
    MICROVM_REQUIRE("no-system-srt", srt_can_be_planted(), kSystemSrt);
    const std::string dir = testsupport::make_trusted_temp_dir("bench-peer");
    ASSERT_FALSE(dir.empty());
    const std::string marker = std::to_string(600000 + ::getpid() % 99999);
    const std::string srt = dir + "/srt";
    std::ofstream(srt) << "#!/bin/sh\n( sleep " << marker << " & )\nexit 0\n";
    ::chmod(srt.c_str(), 0755);
    auto r = run_command({"/usr/bin/env", "PATH=" + dir + ":/usr/bin:/bin", MICROVM_BINARY, "bench", "--runs", "1",
                          "--compute-ms", "5", "-p", "mock", "--json"});
    const bool left = a_process_runs("sleep " + marker);
    if (left) (void)std::system(("pkill -f 'sleep " + marker + "'").c_str());
    std::filesystem::remove_all(dir);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("\"srt\""), std::string::npos) << r.out;
    EXPECT_FALSE(left) << "a run's background process outlived it";
}

// Run as root, a peer found in a directory another user can write is not run (it decided what
// root ran): the reason is printed and the peer has no rows.
TEST(MicrovmBenchCli, AsRootAPeerFromADirectoryOthersCanWriteIsNotRun) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "the trust check applies to root");
    MICROVM_REQUIRE("no-system-srt", srt_can_be_planted(), kSystemSrt);
    char tmpl[] = "/tmp/microvm-test-bench-peer-XXXXXX";  // below /tmp, which everyone writes
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    const std::string dir = tmpl;
    const std::string marker = std::to_string(800000 + ::getpid() % 99999);
    plant_hanging_srt(dir, marker);
    auto r = run_command({"/usr/bin/env", "PATH=" + dir + ":/usr/bin:/bin", MICROVM_BINARY, "bench", "--runs", "1",
                          "--compute-ms", "5", "--row-budget", "1", "-p", "mock", "--json"});
    std::filesystem::remove_all(dir);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.err.find("not running srt"), std::string::npos) << r.err;
    EXPECT_EQ(r.out.find("\"srt\""), std::string::npos) << r.out;
}

// Numbers past what a benchmark can mean are usage errors: a --row-budget of 1e30 became a
// negative --timeout, and a --compute-ms of 1e6 a job of hours that no budget stopped.
TEST(MicrovmBenchCli, OutOfRangeNumbersAreUsageErrors) {
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"--row-budget", "1e30"}, {"--row-budget", "inf"}, {"--row-budget", "0"},
          {"--compute-ms", "1e6"}, {"--compute-ms", "nan"}, {"--runs", "0"}}) {
        std::vector<std::string> argv = {MICROVM_BINARY, "bench", "-p", "mock", "--no-peers"};
        argv.insert(argv.end(), args.begin(), args.end());
        auto r = run_command(argv);
        EXPECT_EQ(r.status, 64) << args[0] << " " << args[1] << ": " << r.err;
        EXPECT_NE(r.err.find("usage"), std::string::npos) << r.err;
    }
}

TEST(MicrovmBenchCli, AnUnknownProviderIsRefused) {
    auto r = run_command({MICROVM_BINARY, "bench", "--runs", "1", "-p", "no-such", "--no-peers"});
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("no-such"), std::string::npos) << r.err;
}

TEST(MicrovmBenchCli, VersionIsPrinted) {
    auto r = run_command({MICROVM_BINARY, "--version"});
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.out.rfind("microvm ", 0), 0u) << r.out;
}

}  // namespace
