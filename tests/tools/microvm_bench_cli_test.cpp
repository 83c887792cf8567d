// `microvm bench`: its chart is a well-formed SVG with one bar per measured row, and --json
// carries the percentiles of every row. (A tiny N and the in-process mock provider keep it fast;
// this checks the command, it does not time anything.)
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "support/expectations.hpp"
#include "support/run_command.hpp"

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
