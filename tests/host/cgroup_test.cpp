#include "host/cgroup.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "host_probes.hpp"
#include "host/cgroup_fs.hpp"
#include "host/cgroup_record.hpp"
#include "host/stale_dirs.hpp"
#include "support/cgroup_dirs.hpp"
#include "support/expectations.hpp"
#include "support/host_files.hpp"

namespace microvm::host {
namespace {

namespace fs = std::filesystem;

class Cgroups : public ::testing::Test {
  protected:
    void SetUp() override {
        MICROVM_REQUIRE("root", ::geteuid() == 0, "cgroups are created by root here");
        auto m = detect_cgroups("");
        ASSERT_TRUE(m) << m.error().message;
        manager_ = std::move(*m);
    }
    std::unique_ptr<CgroupManager> manager_;
};

TEST_F(Cgroups, DetectsAVersion) {
    EXPECT_TRUE(manager_->version() == 1 || manager_->version() == 2);
    EXPECT_NE(manager_->describe().find("cgroup v"), std::string::npos);
}

TEST_F(Cgroups, ACgroupExistsUntilDestroyed) {
    auto before = enforcement::take_snapshot().cgroups;
    auto cg = manager_->create({64u << 20, 0.5, 8});
    ASSERT_TRUE(cg) << cg.error().message;
    auto during = enforcement::take_snapshot().cgroups;
    EXPECT_GT(during.size(), before.size());
    CgroupUsage usage = (*cg)->usage();
    EXPECT_EQ(usage.oom_kills, 0u);
    cg->reset();
    EXPECT_EQ(enforcement::take_snapshot().cgroups, before);
}

// What is still inside when a cgroup is destroyed is killed, and the cgroup removed all the
// same (a sandbox's teardown must leave no process and no directory behind).
TEST_F(Cgroups, DestroyingACgroupKillsWhatIsLeftInside) {
    auto before = enforcement::take_snapshot().cgroups;
    auto cg = manager_->create({64u << 20, 0.5, 8});
    ASSERT_TRUE(cg) << cg.error().message;
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    const std::vector<int> join = (*cg)->self_join_fds();  // v1: each hierarchy's tasks file
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        for (int fd : join) {
            if (::write(fd, "0", 1) != 1) ::_exit(1);
        }
        if (::write(ready[1], "r", 1) != 1) ::_exit(1);
        for (;;) ::pause();
    }
    ::close(ready[1]);
    char r = 0;
    ASSERT_EQ(::read(ready[0], &r, 1), 1);
    ::close(ready[0]);
    ASSERT_TRUE((*cg)->place(child));  // v2: moved by pid
    cg->reset();
    int status = 0;
    pid_t reaped = 0;
    for (int i = 0; i < 200 && reaped == 0; ++i) {  // killed by the destruction, not later
        reaped = ::waitpid(child, &status, WNOHANG);
        if (reaped == 0) ::usleep(10000);
    }
    if (reaped == 0) {
        ::kill(child, SIGKILL);
        ::waitpid(child, nullptr, 0);
        FAIL() << "the process left inside outlived its cgroup";
    }
    ASSERT_EQ(reaped, child);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
    EXPECT_EQ(enforcement::take_snapshot().cgroups, before);
}

// The directory our cgroups are created in (one hierarchy is enough for the sweep test).
std::string some_parent_dir() {
    for (const auto& m : cgroupfs::cgroup_mounts()) {
        std::string controller = m.fstype == "cgroup2" ? "" : "pids";
        if (m.fstype == "cgroup" && m.options.find("pids") == std::string::npos) continue;
        auto own = cgroupfs::OwnCgroups::read().of(controller);
        if (!own) continue;
        std::string dir = m.mountpoint + (*own == "/" ? "" : *own);
        if (m.fstype == "cgroup2" && !fs::exists(dir + "/cgroup.subtree_control")) continue;
        return dir;
    }
    return {};
}

// The attack (red team, 2026-12-06): a v1 memory cgroup copies its parent's oom_kill_disable,
// so under a parent made with it a program at its limit hung there until the deadline instead of
// being killed. A sandbox's cgroup has the OOM killer on, and its reclaim does not swap.
TEST_F(Cgroups, AV1SandboxKeepsTheOomKillerOnUnderAParentThatTurnedItOff) {
    std::string memory_root;
    for (const auto& m : cgroupfs::cgroup_mounts())
        if (m.fstype == "cgroup" && ("," + m.options + ",").find(",memory,") != std::string::npos) memory_root = m.mountpoint;
    MICROVM_REQUIRE("cgroups", !memory_root.empty(), "a v1 memory hierarchy");
    const std::string parent = "microvm-test-oom-off-" + std::to_string(::getpid());
    testsupport::ScopedCgroupParent scoped(parent);
    auto m = detect_cgroups("/" + parent);
    ASSERT_TRUE(m) << m.error().message;
    ASSERT_EQ((*m)->version(), 1);
    {
        std::ofstream off(memory_root + "/" + parent + "/memory.oom_control");
        off << "1";
    }
    auto cg = (*m)->create({64u << 20, 0.5, 8});
    ASSERT_TRUE(cg) << cg.error().message;
    std::ifstream oom(memory_root + "/" + parent + "/" + (*cg)->name() + "/memory.oom_control");
    std::string line;
    std::getline(oom, line);
    EXPECT_EQ(line, "oom_kill_disable 0");
    std::ifstream swappiness(memory_root + "/" + parent + "/" + (*cg)->name() + "/memory.swappiness");
    int value = -1;
    swappiness >> value;
    EXPECT_EQ(value, 0);
}

// A cgroup_parent that one version refuses is not left behind by it: on a hybrid host the v2
// attempt made the parent in the unified hierarchy, was refused (no controllers there), and
// left it as a stray cgroup before v1 was used (red team, 2026-12-06).
TEST_F(Cgroups, AParentARefusedVersionMadeIsRemoved) {
    std::string unified;
    for (const auto& m : cgroupfs::cgroup_mounts())
        if (m.fstype == "cgroup2") unified = m.mountpoint;
    MICROVM_REQUIRE("cgroups", !unified.empty() && manager_->version() == 1,
                    "a hybrid host (v1 in use, an unused cgroup2 mounted)");
    const std::string parent = "microvm-test-refused-v2-" + std::to_string(::getpid());
    testsupport::ScopedCgroupParent scoped(parent);
    testsupport::ScopedCgroupParent deeper(parent + "/deeper");  // removed first
    auto m = detect_cgroups("/" + parent + "/deeper");
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ((*m)->version(), 1);
    EXPECT_FALSE(fs::exists(unified + "/" + parent)) << "the refused v2 attempt left its parent";
}

TEST_F(Cgroups, SweepRemovesOnlyCgroupsOfDeadOwners) {
    std::string parent = some_parent_dir();
    MICROVM_REQUIRE("cgroups", !parent.empty(), "no pids hierarchy found");
    pid_t dead = ::fork();
    if (dead == 0) _exit(0);
    ::waitpid(dead, nullptr, 0);
    std::string stale = parent + "/microvm-process-" + std::to_string(dead) + "-7";
    std::string alive = parent + "/microvm-process-" + std::to_string(::getpid()) + "-999999";
    ASSERT_EQ(::mkdir(stale.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(alive.c_str(), 0755), 0);
    EXPECT_GE(manager_->sweep_stale(), 1u);
    EXPECT_FALSE(fs::exists(stale));
    EXPECT_TRUE(fs::exists(alive));
    ::rmdir(alive.c_str());
}

// A host killed with SIGKILL runs no destructor: its cgroups stay, below its own cgroup
// parent. A later host whose parent is another (another systemd scope on v1's memory
// hierarchy) removes them all the same, from the records (host/cgroup_record.hpp).
TEST_F(Cgroups, ACgroupOfAKilledHostIsSweptByAHostOfAnotherParent) {
    MICROVM_REQUIRE("root", cgroup_record_dir().has_value(), "root has /run");
    const std::string parent = "microvm-test-killed-" + std::to_string(::getpid());
    testsupport::ScopedCgroupParent scoped(parent);
    int out[2];
    ASSERT_EQ(::pipe(out), 0);
    const pid_t host = ::fork();
    ASSERT_GE(host, 0);
    if (host == 0) {  // the killed host: makes a cgroup, then dies as SIGKILL would leave it
        ::close(out[0]);
        auto m = detect_cgroups(parent);
        if (!m) ::_exit(2);
        auto cg = (*m)->create({64u << 20, 0.5, 8});
        if (!cg) ::_exit(3);
        const std::string name = (*cg)->name();
        if (::write(out[1], name.data(), name.size()) != ssize_t(name.size())) ::_exit(4);
        ::_exit(0);  // no destructor runs
    }
    ::close(out[1]);
    char buf[256];
    const ssize_t n = ::read(out[0], buf, sizeof buf);
    ::close(out[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(host, &status, 0), host);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    ASSERT_GT(n, 0);
    const std::string name(buf, size_t(n));
    const std::vector<std::string> left = testsupport::cgroups_named(name);
    ASSERT_FALSE(left.empty()) << "the killed host's cgroup is there";
    for (const std::string& dir : left) ASSERT_NE(dir.find("/" + parent + "/"), std::string::npos) << dir;

    EXPECT_GE(manager_->sweep_stale(), left.size()) << "swept by a host of another parent";
    EXPECT_TRUE(testsupport::cgroups_named(name).empty());
    EXPECT_FALSE(fs::exists(*cgroup_record_dir() + "/" + name)) << "and its record with it";
}

// A cgroup its host could not remove keeps its note, for a later sweep from any parent (it was
// dropped with the object, a review found, whatever became of the directories).
TEST_F(Cgroups, ACgroupThatCannotBeRemovedKeepsItsNote) {
    MICROVM_REQUIRE("root", cgroup_record_dir().has_value(), "root has /run");
    auto cg = manager_->create({64u << 20, 0.5, 8});
    ASSERT_TRUE(cg) << cg.error().message;
    const std::string name = (*cg)->name();
    const std::string note = *cgroup_record_dir() + "/" + name;
    ASSERT_TRUE(fs::exists(note));
    const std::vector<std::string> dirs = testsupport::cgroups_named(name);
    ASSERT_FALSE(dirs.empty());
    const std::string child = dirs.front() + "/held";
    ASSERT_EQ(::mkdir(child.c_str(), 0755), 0);  // a cgroup with a child cannot be removed
    cg->reset();
    EXPECT_TRUE(fs::exists(note)) << "the note of a cgroup still there";
    ::rmdir(child.c_str());
    for (const std::string& dir : dirs) ::rmdir(dir.c_str());
    ::unlink(note.c_str());
    cg = manager_->create({64u << 20, 0.5, 8});
    ASSERT_TRUE(cg) << cg.error().message;
    const std::string gone = *cgroup_record_dir() + "/" + (*cg)->name();
    cg->reset();
    EXPECT_FALSE(fs::exists(gone)) << "dropped once its cgroup is gone";
}

// A record is trusted state, but a sweep still removes only what a sweep below the parent would
// have: a directory named as the record is, of a dead owner, below a cgroup mount. A record that
// names another cgroup (a service's, the host's own) leaves it alone.
TEST_F(Cgroups, ARecordNamingAnotherCgroupRemovesNothing) {
    MICROVM_REQUIRE("root", cgroup_record_dir().has_value(), "root has /run");
    std::string parent = some_parent_dir();
    MICROVM_REQUIRE("cgroups", !parent.empty(), "no pids hierarchy found");
    pid_t dead = ::fork();
    if (dead == 0) _exit(0);
    ::waitpid(dead, nullptr, 0);
    const std::string name = "microvm-process-" + std::to_string(dead) + "-77";
    const std::string victim = parent + "/microvm-test-victim-" + std::to_string(::getpid());
    const testsupport::HostDir elsewhere("microvm-test-outside");
    const std::string outside = (elsewhere.path() / name).string();
    ASSERT_EQ(::mkdir(victim.c_str(), 0755), 0);
    fs::create_directories(outside);
    const std::string record = *cgroup_record_dir() + "/" + name;
    {
        std::ofstream(record) << victim << "\n" << outside << "\n" << parent + "/x/../" + name << "\n";
    }
    manager_->sweep_stale();
    EXPECT_TRUE(fs::exists(victim)) << "another cgroup than the record's name";
    EXPECT_TRUE(fs::exists(outside)) << "a directory outside every cgroup mount";
    ::rmdir(victim.c_str());
    ::unlink(record.c_str());
}

// The attack (red team, 2026-12-06): a user who could write the cgroup parent made the next
// sandbox cgroup's directory ahead of root's run, under its predictable name (v1 took an
// existing directory as made), owned its control files and lifted every limit while the run
// went on. A sandbox's cgroup is always new: one that exists is refused.
TEST_F(Cgroups, ASandboxCgroupMadeAheadIsNeverAdopted) {
    const std::string parent = "microvm-test-ahead-" + std::to_string(::getpid());
    testsupport::ScopedCgroupParent scoped(parent);
    auto m = detect_cgroups(parent);
    ASSERT_TRUE(m) << m.error().message;
    // The next name this process gives: its serial is the one after this one's.
    const std::string probe = owned_name(cgroupfs::kNamePrefix);
    const size_t dash = probe.rfind('-');
    const std::string next = probe.substr(0, dash + 1) + std::to_string(std::stoull(probe.substr(dash + 1)) + 1);
    std::vector<std::string> planted;
    for (const auto& mount : cgroupfs::cgroup_mounts()) {
        const std::string dir = mount.mountpoint + "/" + parent;
        if (!fs::is_directory(dir)) continue;
        planted.push_back(dir + "/" + next);
        ASSERT_EQ(::mkdir(planted.back().c_str(), 0755), 0) << planted.back();
    }
    ASSERT_FALSE(planted.empty());
    auto cg = (*m)->create({64u << 20, 0.5, 8});
    ASSERT_FALSE(cg) << "a cgroup made by another process was taken";
    EXPECT_NE(cg.error().message.find("exists already"), std::string::npos) << cg.error().message;
    for (const std::string& dir : planted) {
        EXPECT_TRUE(fs::exists(dir)) << "another's directory is left as it was";
        ::rmdir(dir.c_str());
    }
}

// A parent another user can write (its owner, or group- or world-writable) would let that user
// rename a sandbox's cgroup away and put its own under the name: refused, naming it. And a
// cgroup_parent that climbs out of the hierarchy ("..") to a plain directory.
TEST_F(Cgroups, AParentAnotherUserCanWriteIsRefused) {
    const std::string parent = "microvm-test-foreign-" + std::to_string(::getpid());
    testsupport::ScopedCgroupParent scoped(parent);
    ASSERT_TRUE(detect_cgroups(parent)) << "made here, root's";
    for (const auto& mount : cgroupfs::cgroup_mounts()) {
        const std::string dir = mount.mountpoint + "/" + parent;
        if (fs::is_directory(dir)) {
            ASSERT_EQ(::chown(dir.c_str(), 4242, 4242), 0) << dir;
        }
    }
    auto foreign = detect_cgroups(parent);
    ASSERT_FALSE(foreign);
    EXPECT_NE(foreign.error().message.find("is owned by uid 4242"), std::string::npos) << foreign.error().message;
    for (const auto& mount : cgroupfs::cgroup_mounts()) {
        const std::string dir = mount.mountpoint + "/" + parent;
        if (fs::is_directory(dir)) {
            ASSERT_EQ(::chown(dir.c_str(), 0, 0), 0);
            ASSERT_EQ(::chmod(dir.c_str(), 0775), 0);
        }
    }
    auto group = detect_cgroups(parent);
    ASSERT_FALSE(group);
    EXPECT_NE(group.error().message.find("writable by its group"), std::string::npos) << group.error().message;

    const testsupport::HostDir plain("microvm-test-climb");
    auto climbs = detect_cgroups("/../../.." + (plain.path() / "cg").string());
    ASSERT_FALSE(climbs);
    EXPECT_EQ(climbs.error().kind, Failure::Kind::InvalidConfig);
    EXPECT_FALSE(fs::exists(plain.path() / "cg"));
}

// A sandbox's setup share (a VMM's boot, gVisor's) is more than the program's. Under a parent
// whose quota is less, v1 refuses a child's quota above it (EINVAL), and every run failed
// (review of the gvisor one-shot, 2026-12-05): the setup share stays within the parent's, also
// at a parent's period other than ours, where a share rounded up was refused (its review).
TEST_F(Cgroups, ASetupShareStaysWithinTheParentsQuota) {
    const std::string parent = "microvm-test-ceiling-" + std::to_string(::getpid());
    auto m = detect_cgroups(parent);
    testsupport::ScopedCgroupParent dirs(parent);
    ASSERT_TRUE(m) << m.error().message;
    const bool v2 = (*m)->version() == 2;
    const std::string cpu_dir = dirs.cpu_dir((*m)->version());
    ASSERT_FALSE(cpu_dir.empty());
    struct Quota {
        uint64_t quota_us, period_us;
    };
    for (const Quota q : {Quota{50000, 100000}, Quota{45002, 30000}}) {
        SCOPED_TRACE(std::to_string(q.quota_us) + " per " + std::to_string(q.period_us));
        if (v2) {
            ASSERT_TRUE(cgroupfs::write_file(cpu_dir + "/cpu.max", std::to_string(q.quota_us) + " " + std::to_string(q.period_us)));
        } else {
            ASSERT_TRUE(cgroupfs::write_file(cpu_dir + "/cpu.cfs_quota_us", "-1"));
            ASSERT_TRUE(cgroupfs::write_file(cpu_dir + "/cpu.cfs_period_us", std::to_string(q.period_us)));
            ASSERT_TRUE(cgroupfs::write_file(cpu_dir + "/cpu.cfs_quota_us", std::to_string(q.quota_us)));
            EXPECT_LE((*m)->cpu_ceiling(), double(q.quota_us) / double(q.period_us));
        }
        const double setup = setup_cpu_share(**m, 2.0, 0.25);
        EXPECT_GE(setup, 0.25);
        EXPECT_DOUBLE_EQ(setup_cpu_share(**m, 2.0, 1.75), 1.75) << "never below the program's share";
        CgroupLimits limits;
        limits.cpu_fraction = setup;
        auto cg = (*m)->create(limits);
        ASSERT_TRUE(cg) << cg.error().message;
        EXPECT_TRUE((*cg)->limit_cpu(0.25)) << "the program's share, set before it starts";
        if (!v2) {
            // A program's share above the parent's is refused, saying so (not a bare EINVAL).
            limits.cpu_fraction = 1.75;
            auto refused = (*m)->create(limits);
            ASSERT_FALSE(refused);
            EXPECT_EQ(refused.error().kind, Failure::Kind::InvalidConfig);
            EXPECT_NE(refused.error().message.find("above the quota of the cgroup parent"), std::string::npos)
                << refused.error().message;
        }
    }
}

}  // namespace
}  // namespace microvm::host
