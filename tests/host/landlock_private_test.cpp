// Landlock rules that grant a tree but the files the host keeps private in it
// (host/landlock_private.hpp). The attack (red team, 2026-12-07): a wasm engine taken over by its
// module opens a daemon's token in a directory the policy grants read-only (/etc, the default
// set); only the engine's own check stood in the way, Landlock granted the whole tree.
#include "host/landlock_private.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "host/confined_fork.hpp"
#include "host/scope_exit.hpp"
#include "support/expectations.hpp"
#include "support/host_files.hpp"

namespace fs = std::filesystem;
using namespace microvm::host;

namespace {

class LandlockPrivate : public ::testing::Test {
  protected:
    void SetUp() override {
        MICROVM_REQUIRE("landlock", landlock::abi_version() > 0, "the kernel has no Landlock");
        const fs::path& d = temp_.path();
        fs::create_directories(d / "tree" / "daemon" / "state" / "sessions" / "s1");
        fs::create_directories(d / "tree" / "other");
        std::ofstream(d / "tree" / "open") << "open";
        std::ofstream(d / "tree" / "other" / "file") << "other";
        std::ofstream(d / "tree" / "daemon" / "tokens") << "secret";
        std::ofstream(d / "tree" / "daemon" / "tokens.1") << "old secret";
        std::ofstream(d / "tree" / "daemon" / "config") << "config";
        std::ofstream(d / "tree" / "daemon" / "state" / "db") << "state";
        std::ofstream(d / "tree" / "daemon" / "state" / "sessions" / "s1" / "work") << "work";
        fs::create_symlink(d / "tree" / "daemon" / "tokens", d / "tree" / "link-to-tokens");
    }

    // What a child confined to the rules for `granted` (access) can do, path by path.
    std::string reach(const fs::path& granted, landlock::Access access, std::vector<std::string> kept) {
        return reach_with([&] {
            UniqueFd dir(::open(granted.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
            auto rules = rules_keeping_private({{granted.string(), access, dir.get()}}, kept);
            if (rules) rules->held.push_back(std::move(dir));  // the rule with nothing kept is on it
            return rules;
        });
    }

    // Mounts what mount(2) is given, unmounted again (last first) when the test ends.
    ::testing::AssertionResult mount_for_test(const fs::path& from, const fs::path& to, const char* type,
                                              unsigned long flags, const char* data = nullptr) {
        if (::mount(from.c_str(), to.c_str(), type, flags, data) != 0) {
            return ::testing::AssertionFailure() << "mount " << from << " at " << to << ": " << std::strerror(errno);
        }
        mounted_.push_back(to);
        return ::testing::AssertionSuccess();
    }

    void TearDown() override {
        for (auto it = mounted_.rbegin(); it != mounted_.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
    }

    // The same for the rules make() gives, made in the child before it confines itself.
    template <class Make>
    std::string reach_with(Make make) {
        ConfinedCall call;
        call.kill_at = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        call.prepare = [&](ChildRules& rules) {
            auto tree = make();
            if (!tree) ::_exit(3);
            rules.paths = tree->rules;
            held_ = std::move(tree->held);  // the child's copy, open until it confines itself
        };
        const fs::path t = temp_.path() / "tree";
        call.body = [t, extra = extra_](ChildChannel&) {
            std::string r;
            std::vector<std::string> paths = {"open", "other/file", "daemon/config", "daemon/tokens", "daemon/tokens.1",
                                              "link-to-tokens", "daemon/state/db", "daemon/state/sessions/s1/work"};
            paths.insert(paths.end(), extra.begin(), extra.end());
            for (const std::string& p : paths) {
                UniqueFd fd(::open((t / p).c_str(), O_RDONLY | O_CLOEXEC));
                r += p + "=" + (fd.valid() ? "read" : std::strerror(errno)) + ";";
            }
            UniqueFd listed(::open((t / "daemon").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
            r += std::string("list-daemon=") + (listed.valid() ? "yes" : "no") + ";";
            UniqueFd made(::open((t / "other" / "new").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
            r += std::string("create-in-other=") + (made.valid() ? "yes" : "no") + ";";
            UniqueFd beside(::open((t / "daemon" / "planted").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
            r += std::string("create-beside-tokens=") + (beside.valid() ? "yes" : "no");
            return r;
        };
        ConfinedRun run = run_confined(std::move(call));
        EXPECT_EQ(run.ended, ConfinedRun::Ended::Reported) << run.problem;
        EXPECT_TRUE(run.landlocked);
        return run.report;
    }

    testsupport::HostDir temp_{"landlock-private"};
    std::vector<UniqueFd> held_;
    std::vector<std::string> extra_;  // more paths below the tree the child tries to read
    std::vector<fs::path> mounted_;
};

const std::string kDenied = std::strerror(EACCES);

// Without a kept path the tree is one rule: everything in it is reached (the control).
TEST_F(LandlockPrivate, WithNothingKeptTheWholeTreeIsGranted) {
    const std::string r = reach(temp_.path() / "tree", landlock::Access::Read, {});
    EXPECT_EQ(r,
              "open=read;other/file=read;daemon/config=read;daemon/tokens=read;daemon/tokens.1=read;"
              "link-to-tokens=read;daemon/state/db=read;daemon/state/sessions/s1/work=read;"
              "list-daemon=yes;create-in-other=no;create-beside-tokens=no");
}

// A kept file, its rotated copies, and a kept directory with all below it are out of the rules,
// through a symlink too; their neighbours are granted as the tree is; the directories on the way
// list their names only.
TEST_F(LandlockPrivate, KeptFilesAndDirectoriesInsideAGrantedTreeAreOutOfReach) {
    const fs::path t = temp_.path() / "tree";
    const std::string r = reach(t, landlock::Access::ReadWrite,
                                {(t / "daemon" / "tokens").string(), (t / "daemon" / "state").string()});
    EXPECT_EQ(r, "open=read;other/file=read;daemon/config=read;daemon/tokens=" + kDenied +
                     ";daemon/tokens.1=" + kDenied + ";link-to-tokens=" + kDenied + ";daemon/state/db=" + kDenied +
                     ";daemon/state/sessions/s1/work=" + kDenied +
                     ";list-daemon=yes;create-in-other=yes;create-beside-tokens=no");
}

// A kept path's directory bind-mounted again inside the granted tree: Landlock's rules attach to
// what is mounted, so the token was read at the second place (red team, 2026-12-07). Mount points
// that show a kept path, or a directory on the way to one, again are split around it too.
TEST_F(LandlockPrivate, AKeptFileSeenAgainThroughABindMountIsOutOfReachThere) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "bind mounts need root");
    const fs::path t = temp_.path() / "tree";
    fs::create_directories(t / "other" / "again");
    ASSERT_TRUE(mount_for_test(t / "daemon", t / "other" / "again", nullptr, MS_BIND));
    extra_ = {"other/again/tokens", "other/again/config"};
    const std::string r = reach(t, landlock::Access::Read, {(t / "daemon" / "tokens").string()});
    EXPECT_NE(r.find("daemon/tokens=" + kDenied + ";"), std::string::npos) << r;
    EXPECT_NE(r.find("other/again/tokens=" + kDenied + ";"), std::string::npos) << r;
    EXPECT_NE(r.find("other/again/config=read;"), std::string::npos) << r;
    EXPECT_NE(r.find("other/file=read;"), std::string::npos) << r;
}

// The same through every other way a mount shows a kept path (red team, second round,
// 2026-12-07): the granted tree itself at a bind mount of a directory above the kept file (only
// mount points below the tree were looked at), a directory inside the kept state directory
// bind-mounted into the tree (only the kept paths and their ancestors were compared), and the
// token bind-mounted over a file of the tree.
TEST_F(LandlockPrivate, AKeptPathShownByAnyMountIsOutOfReachThere) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "bind mounts need root");
    const fs::path t = temp_.path() / "tree";
    const fs::path view = temp_.path() / "view";
    fs::create_directories(view);
    fs::create_directories(t / "other" / "s1view");
    ASSERT_TRUE(mount_for_test(t / "daemon" / "state" / "sessions" / "s1", t / "other" / "s1view", nullptr, MS_BIND));
    ASSERT_TRUE(mount_for_test(t / "daemon" / "tokens", t / "other" / "file", nullptr, MS_BIND));
    ASSERT_TRUE(mount_for_test(t, view, nullptr, MS_BIND | MS_REC));
    extra_ = {"../view/daemon/tokens", "../view/daemon/config", "../view/other/s1view/work", "../view/other/file",
              "../view/open"};
    const std::string r =
        reach(view, landlock::Access::Read, {(t / "daemon" / "tokens").string(), (t / "daemon" / "state").string()});
    for (const char* kept : {"../view/daemon/tokens", "../view/other/s1view/work", "../view/other/file",
                             "daemon/tokens", "daemon/state/sessions/s1/work", "other/file"}) {
        EXPECT_NE(r.find(std::string(kept) + "=" + kDenied + ";"), std::string::npos) << kept << " in " << r;
    }
    EXPECT_NE(r.find("../view/daemon/config=read;"), std::string::npos) << r;
    EXPECT_NE(r.find("../view/open=read;"), std::string::npos) << r;
}

// Landlock's walk from a file goes up through every mount point into the file system below: a
// tree granted at a plain bind of a directory above the mount that holds the token reached the
// token at its own path, though the tree does not show that mount (review, 2026-12-07). The mount
// points under a kept path are kept too; what such a mount holds is out of the tree's reach.
TEST_F(LandlockPrivate, ATreeAboveTheMountHoldingAKeptFileDoesNotReachIt) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "mounts need root");
    const fs::path t = temp_.path() / "tree";
    const fs::path view = temp_.path() / "view";
    fs::create_directories(view);
    ASSERT_TRUE(mount_for_test("tmpfs", t / "daemon", "tmpfs", 0, "size=1m"));
    std::ofstream(t / "daemon" / "tokens") << "secret";
    ASSERT_TRUE(mount_for_test(t, view, nullptr, MS_BIND));
    extra_ = {"../view/open"};
    const std::string r = reach(view, landlock::Access::Read, {(t / "daemon" / "tokens").string()});
    EXPECT_NE(r.find("daemon/tokens=" + kDenied + ";"), std::string::npos) << r;
    EXPECT_NE(r.find("../view/open=read;"), std::string::npos) << r;
}

// Rules by path are split too: the libraries and certificates a fetching program reads were
// granted whole, and a TLS key kept in /etc/pki/tls/private was read through them (red team,
// 2026-12-07). A rule on a kept file itself is dropped; one on a path that does not exist too.
TEST_F(LandlockPrivate, RulesByPathAreSplitAndAKeptFileLosesItsOwnRule) {
    const fs::path t = temp_.path() / "tree";
    const std::vector<std::string> kept = {(t / "daemon" / "tokens").string(), (t / "daemon" / "state").string()};
    const std::vector<landlock::Rule> rules = {{t.string(), landlock::Access::Read},
                                               {(t / "daemon" / "tokens").string(), landlock::Access::Read},
                                               {(t / "nowhere").string(), landlock::Access::Read}};
    const std::string r = reach_with([&] { return rules_keeping_private(rules, kept); });
    EXPECT_EQ(r, "open=read;other/file=read;daemon/config=read;daemon/tokens=" + kDenied +
                     ";daemon/tokens.1=" + kDenied + ";link-to-tokens=" + kDenied + ";daemon/state/db=" + kDenied +
                     ";daemon/state/sessions/s1/work=" + kDenied +
                     ";list-daemon=yes;create-in-other=no;create-beside-tokens=no");
    // With nothing kept the rules are as given, and nothing is opened for them.
    auto same = rules_keeping_private(rules, {});
    ASSERT_TRUE(same) << same.error().message;
    ASSERT_EQ(same->rules.size(), 3u);
    EXPECT_TRUE(same->held.empty());
    for (size_t i = 0; i < rules.size(); ++i) EXPECT_EQ(same->rules[i].fd, rules[i].fd);
    // A rule by path (judged by nobody) on a directory inside a kept path is dropped.
    auto inside = rules_keeping_private({{(t / "daemon" / "state" / "sessions").string(), landlock::Access::Read}}, kept);
    ASSERT_TRUE(inside) << inside.error().message;
    EXPECT_TRUE(inside->rules.empty());
}

// A tree that lies inside a kept path was granted as such (a session's work directory in the
// daemon's state directory): it is one rule.
TEST_F(LandlockPrivate, ATreeInsideAKeptDirectoryIsGrantedAsSuch) {
    const fs::path t = temp_.path() / "tree";
    const fs::path s1 = t / "daemon" / "state" / "sessions" / "s1";
    UniqueFd dir(::open(s1.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    const std::vector<landlock::Rule> rules = {{"s1", landlock::Access::ReadWrite, dir.get()}};
    auto tree = rules_keeping_private(rules, {(t / "daemon" / "state").string()});
    ASSERT_TRUE(tree) << tree.error().message;
    ASSERT_EQ(tree->rules.size(), 1u);
    EXPECT_EQ(tree->rules[0].access, landlock::Access::ReadWrite);
    // but another kept path inside it still splits it.
    auto split = rules_keeping_private(rules, {(t / "daemon" / "state").string(), (s1 / "work").string()});
    ASSERT_TRUE(split) << split.error().message;
    EXPECT_EQ(split->rules.size(), 1u);  // s1 list-only, and nothing else in it
    EXPECT_EQ(split->rules[0].access, landlock::Access::List);
}

size_t open_descriptors() {
    return static_cast<size_t>(std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator()));
}

// Every entry beside a kept file holds a descriptor: a directory with more entries than the cap
// (or than RLIMIT_NOFILE allows) is a setup error, never rules that grant the directory whole,
// and every descriptor opened on the way is closed again.
TEST_F(LandlockPrivate, TooManyEntriesBesideAKeptFileAreASetupError) {
    const fs::path crowd = temp_.path() / "crowd";
    fs::create_directories(crowd);
    for (size_t i = 0; i <= kMaxPrivateAwareRules; ++i) {
        UniqueFd f(::open((crowd / std::to_string(i)).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
        ASSERT_TRUE(f.valid()) << std::strerror(errno);
    }
    std::ofstream(crowd / "tokens") << "secret";
    const size_t before = open_descriptors();
    auto rules = rules_keeping_private({{crowd.string(), landlock::Access::Read}}, {(crowd / "tokens").string()});
    ASSERT_FALSE(rules);
    EXPECT_EQ(rules.error().kind, microvm::Failure::Kind::SetupError) << rules.error().message;
    EXPECT_EQ(open_descriptors(), before);
    // One entry fewer than the cap beside it, and it is split (the rule for the directory itself
    // is one of them).
    fs::remove(crowd / "0");
    fs::remove(crowd / "1");
    struct rlimit nofile;
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &nofile), 0);
    const struct rlimit enough {std::max<rlim_t>(nofile.rlim_cur, kMaxPrivateAwareRules + 64), nofile.rlim_max};
    ASSERT_GE(enough.rlim_max, enough.rlim_cur) << "RLIMIT_NOFILE's hard limit is below the cap";
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &enough), 0) << std::strerror(errno);
    const ScopeExit restore([&] { ::setrlimit(RLIMIT_NOFILE, &nofile); });
    rules = rules_keeping_private({{crowd.string(), landlock::Access::Read}}, {(crowd / "tokens").string()});
    ASSERT_TRUE(rules) << rules.error().message;
    EXPECT_EQ(rules->rules.size(), kMaxPrivateAwareRules);
}

}  // namespace
