// What the cgroup backends write and read, against a fake cgroup tree in a temp dir: the only
// check of the v2 backend on a v1 host, and of the v1 memory+swap line on a host without swap.
// The kernel makes a cgroup's control files with its directory; here the test makes them (empty,
// as a write to a real control file replaces its value) and open_cgroup_v1/v2 adopt the tree.
// Each limit has an assertion that fails if its write is removed, each counter one that fails
// if its read is.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "host/cgroup.hpp"
#include "host/cgroup_open.hpp"

namespace microvm::host {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class FakeCgroupTree : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/fake-cgroup-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        root_ = tmpl;
    }
    void TearDown() override { fs::remove_all(root_); }

    // dir (under the root) with the named control files, empty.
    std::string make(const std::string& dir, const std::vector<const char*>& files) {
        const std::string path = root_ + "/" + dir;
        fs::create_directories(path);
        for (const char* f : files) set(path + "/" + f, "");
        return path;
    }
    static void set(const std::string& path, const std::string& text) {
        std::ofstream(path, std::ios::trunc) << text;
    }
    static std::string get(const std::string& path) {
        std::ifstream in(path);
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }

    // A list of swap areas that names none (trees without memory.swap.max are taken then).
    std::string no_swap() {
        set(root_ + "/no-swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n");
        return root_ + "/no-swaps";
    }

    std::string root_;
};

constexpr CgroupLimits kLimits{48ull << 20, 0.25, 7};
const std::string kBytes = std::to_string(48ull << 20);

// --- cgroup v2 -----------------------------------------------------------------------------------

std::vector<const char*> v2_files() {
    return {"memory.max", "memory.swap.max", "cpu.max", "pids.max", "cgroup.procs", "cpu.stat",
            "memory.peak", "memory.events", "pids.events"};
}

TEST_F(FakeCgroupTree, V2WritesEachLimitToItsFile) {
    const std::string dir = make("sandbox", v2_files());
    auto cg = open_cgroup_v2(dir, kLimits);
    ASSERT_TRUE(cg) << cg.error().message;
    EXPECT_EQ(get(dir + "/memory.max"), kBytes);
    EXPECT_EQ(get(dir + "/memory.swap.max"), "0");  // no escaping into swap
    EXPECT_EQ(get(dir + "/cpu.max"), "25000 100000");
    EXPECT_EQ(get(dir + "/pids.max"), "7");
    EXPECT_GE((*cg)->clone_fd(), 0);  // the directory, for CLONE_INTO_CGROUP
}

// Without swap accounting there is no memory.swap.max: nothing to write, and with no swap area
// no failure.
TEST_F(FakeCgroupTree, V2WithoutSwapAccountingStillLimits) {
    const std::string dir =
        make("sandbox", {"memory.max", "cpu.max", "pids.max", "cgroup.procs"});
    auto cg = open_cgroup_v2(dir, {64ull << 20, 1.0, 32}, no_swap());
    ASSERT_TRUE(cg) << cg.error().message;
    EXPECT_EQ(get(dir + "/memory.max"), std::to_string(64ull << 20));
    EXPECT_EQ(get(dir + "/cpu.max"), "100000 100000");
    EXPECT_EQ(get(dir + "/pids.max"), "32");
    EXPECT_FALSE(fs::exists(dir + "/memory.swap.max"));
}

// Without swap accounting while swap is on, the memory limit would not hold (the program
// swapped out past it, red team 2026-12-06), and v2 has no per-cgroup swappiness: refused,
// naming the setting. With no swap area (or with accounting) it is taken.
TEST_F(FakeCgroupTree, V2WithoutSwapAccountingIsRefusedWhileSwapIsOn) {
    const std::string swaps = root_ + "/swaps";
    set(swaps, "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/swapfile file\t\t1048572\t\t0\t\t-2\n");
    const std::string dir = make("sandbox", {"memory.max", "cpu.max", "pids.max", "cgroup.procs"});
    auto refused = open_cgroup_v2(dir, kLimits, swaps);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("memory_limit_mb"), std::string::npos) << refused.error().message;
    set(swaps, "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n");
    EXPECT_TRUE(open_cgroup_v2(dir, kLimits, swaps));
    // A kernel without swap (CONFIG_SWAP=n) has no /proc/swaps at all.
    EXPECT_TRUE(open_cgroup_v2(dir, kLimits, root_ + "/no-such-swaps"));
    const std::string accounted = make("accounted", v2_files());
    set(swaps, "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/swapfile file\t\t1048572\t\t0\t\t-2\n");
    EXPECT_TRUE(open_cgroup_v2(accounted, kLimits, swaps));
}

// A control file that cannot be written is an error, not a sandbox without that limit.
TEST_F(FakeCgroupTree, V2RefusesACgroupWhoseLimitCannotBeWritten) {
    const std::string dir = make("sandbox", {"memory.max", "cpu.max", "cgroup.procs"});  // no pids
    auto cg = open_cgroup_v2(dir, kLimits, no_swap());
    ASSERT_FALSE(cg);
    EXPECT_NE(cg.error().message.find("pids.max"), std::string::npos) << cg.error().message;
}

TEST_F(FakeCgroupTree, V2ReadsTheKernelsCounters) {
    const std::string dir = make("sandbox", v2_files());
    auto cg = open_cgroup_v2(dir, kLimits);
    ASSERT_TRUE(cg) << cg.error().message;
    set(dir + "/cpu.stat", "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n"
                           "nr_periods 40\nnr_throttled 30\nthrottled_usec 2700000\n"
                           "nr_bursts 0\nburst_usec 0\n");
    set(dir + "/memory.peak", "50000000\n");
    set(dir + "/memory.events", "low 0\nhigh 0\nmax 9\noom 2\noom_kill 2\noom_group_kill 0\n");
    set(dir + "/pids.events", "max 4\n");
    CgroupUsage u = (*cg)->usage();
    ASSERT_TRUE(u.cpu_time);
    EXPECT_EQ(*u.cpu_time, 1500ms);
    ASSERT_TRUE(u.cpu_throttling);
    EXPECT_EQ(*u.cpu_throttling, (CpuThrottling{40, 30, 2700ms}));
    ASSERT_TRUE(u.memory_peak_bytes);
    EXPECT_EQ(*u.memory_peak_bytes, 50000000u);
    EXPECT_EQ(u.oom_kills, 2u);
    EXPECT_EQ(u.pids_limit_hits, 4u);

    // A sandbox built ahead: only what follows counts (cpu.stat cannot be reset).
    (*cg)->restart_measurements();
    set(dir + "/cpu.stat", "usage_usec 2000000\nuser_usec 1400000\nsystem_usec 600000\n"
                           "nr_periods 50\nnr_throttled 31\nthrottled_usec 2800000\n");
    set(dir + "/memory.peak", "3000000\n");
    set(dir + "/memory.events", "low 0\nhigh 0\nmax 9\noom 3\noom_kill 3\noom_group_kill 0\n");
    u = (*cg)->usage();
    ASSERT_TRUE(u.cpu_time);
    EXPECT_EQ(*u.cpu_time, 500ms);
    // Event counts from where they stood too: the preparation's are not the execution's.
    EXPECT_EQ(u.oom_kills, 1u);
    EXPECT_EQ(u.pids_limit_hits, 0u);
    ASSERT_TRUE(u.cpu_throttling);
    EXPECT_EQ(*u.cpu_throttling, (CpuThrottling{10, 1, 100ms}));
    ASSERT_TRUE(u.memory_peak_bytes);
    EXPECT_EQ(*u.memory_peak_bytes, 3000000u);
}

// Kernels before 5.19 keep no memory.peak: the peak is memory.current's highest sample.
TEST_F(FakeCgroupTree, V2WithoutMemoryPeakSamplesMemoryCurrent) {
    const std::string dir = make("sandbox", {"memory.max", "cpu.max", "pids.max", "cgroup.procs",
                                             "memory.current"});
    auto cg = open_cgroup_v2(dir, kLimits, no_swap());
    ASSERT_TRUE(cg) << cg.error().message;
    for (const char* now : {"1000000\n", "7000000\n", "2000000\n"}) {
        set(dir + "/memory.current", now);
        (*cg)->sample();
    }
    CgroupUsage u = (*cg)->usage();
    ASSERT_TRUE(u.memory_peak_bytes);
    EXPECT_EQ(*u.memory_peak_bytes, 7000000u);
}

// --- cgroup v1 -----------------------------------------------------------------------------------

class FakeV1Tree : public FakeCgroupTree {
  protected:
    // One hierarchy per controller, as Debian mounts them (cpu and cpuacct may share one: the
    // dirs then coincide, which the backend handles the same way).
    CgroupV1Dirs make_v1(bool memsw) {
        CgroupV1Dirs d;
        d.memory = memsw ? make("memory/sb", {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes",
                                              "memory.kmem.tcp.limit_in_bytes", "memory.swappiness",
                                              "memory.oom_control", "tasks"})
                         : make("memory/sb", {"memory.limit_in_bytes", "memory.kmem.tcp.limit_in_bytes",
                                              "memory.swappiness", "memory.oom_control", "tasks"});
        d.cpu = make("cpu/sb", {"cpu.cfs_period_us", "cpu.cfs_quota_us", "tasks"});
        d.cpuacct = make("cpuacct/sb", {"cpuacct.usage", "tasks"});
        d.pids = make("pids/sb", {"pids.max", "pids.events", "tasks"});
        return d;
    }
};

TEST_F(FakeV1Tree, V1WritesEachLimitToItsFile) {
    const CgroupV1Dirs d = make_v1(/*memsw=*/true);
    auto cg = open_cgroup_v1(d, kLimits);
    ASSERT_TRUE(cg) << cg.error().message;
    EXPECT_EQ(get(d.memory + "/memory.limit_in_bytes"), kBytes);
    EXPECT_EQ(get(d.memory + "/memory.memsw.limit_in_bytes"), kBytes);  // memory+swap: no swap
    EXPECT_EQ(get(d.memory + "/memory.kmem.tcp.limit_in_bytes"), kBytes);  // socket buffers
    EXPECT_EQ(get(d.memory + "/memory.swappiness"), "0");   // its own reclaim never swaps
    EXPECT_EQ(get(d.memory + "/memory.oom_control"), "0");  // a parent's oom_kill_disable is not kept
    EXPECT_EQ(get(d.cpu + "/cpu.cfs_period_us"), "100000");
    EXPECT_EQ(get(d.cpu + "/cpu.cfs_quota_us"), "25000");
    EXPECT_EQ(get(d.pids + "/pids.max"), "7");
    EXPECT_EQ((*cg)->self_join_fds().size(), 4u);  // each hierarchy's tasks file
    EXPECT_EQ((*cg)->name(), "sb");
}

// Without swap accounting (no memsw files) the memory limit alone applies, and no file is made.
TEST_F(FakeV1Tree, V1WithoutSwapAccountingStillLimits) {
    const CgroupV1Dirs d = make_v1(/*memsw=*/false);
    auto cg = open_cgroup_v1(d, {64ull << 20, 0.5, 16});
    ASSERT_TRUE(cg) << cg.error().message;
    EXPECT_EQ(get(d.memory + "/memory.limit_in_bytes"), std::to_string(64ull << 20));
    EXPECT_EQ(get(d.cpu + "/cpu.cfs_quota_us"), "50000");
    EXPECT_EQ(get(d.pids + "/pids.max"), "16");
    EXPECT_FALSE(fs::exists(d.memory + "/memory.memsw.limit_in_bytes"));
    // The attack (red team, 2026-12-06): the limit's reclaim swapped the program out, and it
    // held the limit plus all of swap. At swappiness 0 the cgroup's reclaim takes file pages only.
    EXPECT_EQ(get(d.memory + "/memory.swappiness"), "0");
}

TEST_F(FakeV1Tree, V1ReadsTheKernelsCounters) {
    const CgroupV1Dirs d = make_v1(/*memsw=*/true);
    auto cg = open_cgroup_v1(d, kLimits);
    ASSERT_TRUE(cg) << cg.error().message;
    set(d.cpuacct + "/cpuacct.usage", "1250000000\n");
    set(d.memory + "/memory.max_usage_in_bytes", "40000000\n");
    set(d.memory + "/memory.kmem.tcp.max_usage_in_bytes", "1000000\n");
    set(d.memory + "/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
    set(d.pids + "/pids.events", "max 5\n");
    set(d.cpu + "/cpu.stat", "nr_periods 12\nnr_throttled 7\nthrottled_time 650000000\n");
    CgroupUsage u = (*cg)->usage();
    ASSERT_TRUE(u.cpu_time);
    EXPECT_EQ(*u.cpu_time, 1250ms);
    ASSERT_TRUE(u.cpu_throttling);
    EXPECT_EQ(*u.cpu_throttling, (CpuThrottling{12, 7, 650ms}));
    ASSERT_TRUE(u.memory_peak_bytes);
    EXPECT_EQ(*u.memory_peak_bytes, 41000000u);  // memory and socket buffers
    EXPECT_EQ(u.oom_kills, 3u);
    EXPECT_EQ(u.pids_limit_hits, 5u);

    // A sandbox built ahead: both counters take a write of 0 as a reset.
    (*cg)->restart_measurements();
    EXPECT_EQ(get(d.cpuacct + "/cpuacct.usage").substr(0, 1), "0");
    EXPECT_EQ(get(d.memory + "/memory.max_usage_in_bytes").substr(0, 1), "0");
    EXPECT_EQ(get(d.memory + "/memory.kmem.tcp.max_usage_in_bytes").substr(0, 1), "0");
    // cpu.stat cannot be reset: counted from where it stood.
    set(d.cpu + "/cpu.stat", "nr_periods 20\nnr_throttled 9\nthrottled_time 900000000\n");
    set(d.pids + "/pids.events", "max 7\n");
    u = (*cg)->usage();
    ASSERT_TRUE(u.cpu_throttling);
    EXPECT_EQ(*u.cpu_throttling, (CpuThrottling{8, 2, 250ms}));
    // Event counts cannot be reset: counted from where they stood (the preparation's OOM kills
    // and refused forks are not the execution's).
    EXPECT_EQ(u.oom_kills, 0u);
    EXPECT_EQ(u.pids_limit_hits, 2u);
}

// Without the cpu controller's bandwidth counters nothing is claimed.
TEST(CpuStat, ThrottlingIsAbsentWithoutItsCounters) {
    EXPECT_FALSE(cgroupfs::parse_cpu_throttling("usage_usec 5\nuser_usec 3\nsystem_usec 2\n"));
    EXPECT_FALSE(cgroupfs::parse_cpu_throttling(""));
    EXPECT_EQ(cgroupfs::parse_cpu_throttling("nr_periods 3\nnr_throttled 0\nthrottled_usec 0\n"),
              (CpuThrottling{3, 0, 0ms}));
}

}  // namespace
}  // namespace microvm::host
