// Sessions: a work directory that persists between execs, files up and down confined to it
// (traversal, absolute paths and symlinks planted by the program refused), deletion and expiry
// removing everything.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "harness.hpp"
#include "service/sessions.hpp"
#include "host/remove_tree.hpp"
#include "host/trusted_state.hpp"
#include "support/expectations.hpp"

using namespace svctest;
using nlohmann::json;
using namespace std::chrono_literals;

#define REQUIRE_PROCESS() \
    MICROVM_REQUIRE("process", provider_available("process"), "the process provider is unavailable here")


// Every provider that runs programs of the session's user can use its work directory: gVisor's
// sessions were refused every exec (the directory was root's 0700, which uid 65534 cannot write,
// red team 2026-12-04).
class SessionFiles : public ::testing::TestWithParam<std::string> {};

TEST_P(SessionFiles, FilesPersistBetweenExecsInTheWorkDirectory) {
    const std::string provider = GetParam();
    MICROVM_REQUIRE(provider.c_str(), provider_available(provider), "the " + provider + " provider is unavailable here");
    Harness h;
    std::string id = create_session(h, {{"provider", provider}, {"timeout", "20s"}});
    ASSERT_EQ(id.substr(0, 4), "sbx-");
    auto put = h.call("PUT", "/v1/sandboxes/" + id + "/files/in/data.txt", "uploaded\n");
    ASSERT_EQ(put.status, 200) << put.body;
    auto cat = session_exec(h, id, {"/bin/sh", "-c", "cat \"$MICROVM_SANDBOX_DIR/in/data.txt\"; echo made > \"$MICROVM_SANDBOX_DIR/out.txt\""});
    EXPECT_EQ(cat["stdout"], "uploaded\n") << cat.dump();
    auto second = session_exec(h, id, {"/bin/sh", "-c", "cat \"$MICROVM_SANDBOX_DIR/out.txt\""});
    EXPECT_EQ(second["stdout"], "made\n") << second.dump();
    auto get = h.call("GET", "/v1/sandboxes/" + id + "/files/out.txt");
    EXPECT_EQ(get.status, 200);
    EXPECT_EQ(get.body, "made\n");
    // Nothing outside the work directory is writable from inside.
    // (The sandbox's own root may take the write; the host's directory must not.)
    session_exec(h, id, {"/bin/sh", "-c", "echo x > \"$MICROVM_SANDBOX_DIR/../escape\""});
    EXPECT_FALSE(std::filesystem::exists(h.dir + "/state/sandboxes/escape"));
    EXPECT_EQ(h.call("DELETE", "/v1/sandboxes/" + id).status, 200);
    EXPECT_EQ(h.call("GET", "/v1/sandboxes/" + id + "/files/out.txt").status, 404);
    EXPECT_EQ(h.call("DELETE", "/v1/sandboxes/" + id).status, 404);
    EXPECT_TRUE(std::filesystem::is_empty(h.dir + "/state/sandboxes"));
}

// A session's files are its own: another session naming one as its program (or as a "#!"
// interpreter), or a one-shot run naming one, is refused before anything of it is read or bound.
// The process and gVisor providers bound it into the other sandbox past the state directory's
// 0700 mode, where BASH_ENV printed it (red team, 2026-12-07).
// (Not QEMU: a VM's program is found in its guest's own file system.)
class HostBoundPrograms : public ::testing::TestWithParam<std::string> {};

TEST_P(HostBoundPrograms, AnotherSessionsFileIsNeverAProgram) {
    const std::string provider = GetParam();
    MICROVM_REQUIRE(provider.c_str(), provider_available(provider), "the " + provider + " provider is unavailable here");
    Harness h;
    const std::string alice = create_session(h, {{"provider", provider}, {"timeout", "20s"}});
    const std::string bob = create_session(h, {{"provider", provider}, {"timeout", "20s"}});
    auto made = session_exec(h, alice, {"/bin/sh", "-c",
                                        "cd \"$MICROVM_SANDBOX_DIR\" && printf '#!/bin/sh\\necho alice-secret\\n' > run.sh && "
                                        "printf '#!'\"$MICROVM_SANDBOX_DIR\"'/run.sh\\n' > via.sh && chmod 755 run.sh via.sh"});
    ASSERT_EQ(made["status"], "ok") << made.dump();
    const std::string work = h.dir + "/state/sandboxes/" + alice;
    auto own = session_exec(h, alice, {work + "/run.sh"});
    EXPECT_EQ(own["stdout"], "alice-secret\n") << own.dump();

    for (const std::string& program : {work + "/run.sh", work + "/via.sh"}) {
        auto theirs = h.call_json("POST", "/v1/sandboxes/" + bob + "/exec", {{"run", {program}}});
        EXPECT_EQ(theirs.body.find("alice-secret"), std::string::npos) << theirs.body;
        EXPECT_NE(theirs.body.find("private files"), std::string::npos) << theirs.body;
        auto one_shot = h.call_json("POST", "/v1/executions", {{"provider", provider}, {"run", {program}}, {"timeout", "20s"}});
        EXPECT_EQ(one_shot.body.find("alice-secret"), std::string::npos) << one_shot.body;
        EXPECT_NE(one_shot.body.find("private files"), std::string::npos) << one_shot.body;
    }
    // Bob's own script naming Alice's as its interpreter: refused the same way.
    ASSERT_EQ(h.call("PUT", "/v1/sandboxes/" + bob + "/files/mine.sh", "#!" + work + "/run.sh\n").status, 200);
    const std::string bob_work = h.dir + "/state/sandboxes/" + bob;
    ASSERT_EQ(::chmod((bob_work + "/mine.sh").c_str(), 0755), 0);
    auto chained = h.call_json("POST", "/v1/sandboxes/" + bob + "/exec", {{"run", {bob_work + "/mine.sh"}}});
    EXPECT_EQ(chained.body.find("alice-secret"), std::string::npos) << chained.body;
    EXPECT_NE(chained.body.find("private files"), std::string::npos) << chained.body;
}

INSTANTIATE_TEST_SUITE_P(Providers, HostBoundPrograms, ::testing::Values("process", "gvisor"),
                         [](const auto& info) { return info.param; });

INSTANTIATE_TEST_SUITE_P(Providers, SessionFiles, ::testing::Values("process", "gvisor", "qemu"),
                         [](const auto& info) { return info.param; });

// The shipped state directories (/run/microvmd/state, the unit's and root's default) lie where
// every process protects the project's state by name, and every exec of a session there was
// refused: its work directory "would let a sandbox write /run/microvm*" (red team, 2026-12-07;
// the other tests keep their state below /tmp). The daemon grants its own work directories.
TEST(Sessions, WorkDirectoriesInAStateDirectoryProtectedByNameAreUsable) {
    REQUIRE_PROCESS();
    char run_dir[] = "/run/microvmd-test.XXXXXX";
    ASSERT_NE(::mkdtemp(run_dir), nullptr) << std::strerror(errno);
    const std::string state = std::string(run_dir) + "/state";
    ASSERT_TRUE(microvm::host::protected_by_name(state));
    {
        Harness h([&](microvm::service::ServiceOptions& o) { o.state_dir = state; });
        const std::string id = create_session(h, {{"provider", "process"}, {"timeout", "20s"}});
        ASSERT_EQ(id.substr(0, 4), "sbx-");
        auto wrote = session_exec(h, id, {"/bin/sh", "-c", "echo made > \"$MICROVM_SANDBOX_DIR/out.txt\""});
        EXPECT_EQ(wrote["status"], "ok") << wrote.dump();
        auto get = h.call("GET", "/v1/sandboxes/" + id + "/files/out.txt");
        EXPECT_EQ(get.body, "made\n") << get.status;
        // Only the session's own directory: its parent and what is below it stay refused.
        const std::string work = state + "/sandboxes/" + id;
        EXPECT_TRUE(microvm::host::refuse_writable_trusted_state(work, "rw="));
        EXPECT_FALSE(microvm::host::refuse_writable_trusted_state(state + "/sandboxes", "rw="));
        EXPECT_FALSE(microvm::host::refuse_writable_trusted_state(work + "/sub", "rw="));
        EXPECT_EQ(h.call("DELETE", "/v1/sandboxes/" + id).status, 200);
        EXPECT_FALSE(microvm::host::refuse_writable_trusted_state(work, "rw=")) << "the grant outlived its session";
    }
    microvm::host::remove_tree(run_dir);
}

// A daemon sweeps the sessions a dead daemon left in its state directory: a second daemon
// started on the same directory (root's default is one for all) unmounted and removed every
// live session of the first, then found the socket taken and stopped (red team, 2026-12-06). It
// now refuses to start before it touches anything.
TEST(Sessions, ASecondDaemonOnTheSameStateDirectoryLeavesTheFirstsSessionsAlone) {
    Harness h;
    const std::string id = create_session(h, {{"provider", "mock"}});
    ASSERT_EQ(h.call("PUT", "/v1/sandboxes/" + id + "/files/data.txt", "precious\n").status, 200);
    microvm::service::ServiceOptions second;
    second.state_dir = h.dir + "/state";
    second.allow_unisolated = true;
    auto refused = microvm::service::Service::create(std::move(second), nullptr);
    ASSERT_FALSE(refused) << "a second daemon started on a state directory in use";
    EXPECT_NE(refused.error().message.find("in use by another microvmd"), std::string::npos) << refused.error().message;
    auto get = h.call("GET", "/v1/sandboxes/" + id + "/files/data.txt");
    EXPECT_EQ(get.status, 200) << get.body;
    EXPECT_EQ(get.body, "precious\n");
}

// The lock is never followed: a symlink planted as STATE/.lock (to a file the daemon would
// create or hold, anywhere) stops the daemon instead of being opened through.
TEST(Sessions, APlantedLockLinkIsNotFollowed) {
    const std::string dir = make_temp_dir();
    const std::string state = dir + "/state";
    ASSERT_EQ(::mkdir(state.c_str(), 0700), 0);
    const std::string target = dir + "/elsewhere";
    ASSERT_EQ(::symlink(target.c_str(), (state + "/.lock").c_str()), 0);
    {  // the service, if one started, ends before its directory goes
        microvm::service::ServiceOptions o;
        o.state_dir = state;
        o.allow_unisolated = true;
        auto refused = microvm::service::Service::create(std::move(o), nullptr);
        EXPECT_FALSE(refused) << "the daemon started through a planted lock link";
        EXPECT_FALSE(std::filesystem::exists(target)) << "the lock link was followed";
    }
    microvm::host::remove_tree(dir);
}

// Full access to the host's tree cannot reach the work directory (in the daemon's root-only
// state directory): such a session's execs reported `ok` while every use of the directory was
// "Permission denied" (red team, 2026-12-04). Refused when the session is made.
TEST(Sessions, AFullFileSystemPolicyIsRefusedWhereTheSandboxCannotReachTheWorkDirectory) {
    REQUIRE_PROCESS();
    Harness h;
    auto r = h.call_json("POST", "/v1/sandboxes", {{"provider", "process"}, {"fs_policy", "full"}});
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.body.find("work directory"), std::string::npos) << r.body;
    EXPECT_TRUE(std::filesystem::is_empty(h.dir + "/state/sandboxes"));
    // Nor a wasm program, to which the daemon's state directory is private (host/private_files.hpp):
    // such a session's every use of its directory was "Permission denied" (red team, 2026-12-06).
    auto w = h.call_json("POST", "/v1/sandboxes", {{"provider", "wasm"}, {"fs_policy", "full"}});
    EXPECT_EQ(w.status, 400) << w.body;
    EXPECT_NE(w.body.find("work directory"), std::string::npos) << w.body;
    EXPECT_NE(w.body.find("the daemon's own file access"), std::string::npos) << w.body;
    // A program run in the daemon without isolation reaches it as the daemon does.
    std::string id = create_session(h, {{"provider", "mock"}, {"fs_policy", "full"}});
    EXPECT_EQ(id.substr(0, 4), "sbx-");
}

// A session's files have a quota of their own: one client wrote until the state directory's
// file system (by default /run, the host's) was full for every session and the host (red team,
// 2026-12-04). Each work directory is a tmpfs of --session-disk-mib.
TEST(Sessions, ASessionsFilesCannotOutgrowItsDisk) {
    REQUIRE_PROCESS();
    MICROVM_REQUIRE("root", ::geteuid() == 0, "mounting a session's disk needs root");
    Harness h([](microvm::service::ServiceOptions& o) { o.session_disk_bytes = 4 << 20; });
    auto made = h.call_json("POST", "/v1/sandboxes", {{"provider", "process"}, {"timeout", "20s"}});
    ASSERT_EQ(made.status, 201) << made.body;
    const json session = body_json(made);
    EXPECT_EQ(session.value("disk_limit_bytes", 0), 4 << 20) << made.body;
    const std::string id = session.value("id", "");
    ASSERT_EQ(h.call("PUT", "/v1/sandboxes/" + id + "/files/kept.txt", "before").status, 200);
    // A program writes 16 MiB: the disk stops it at 4.
    auto fill = session_exec(h, id, {"/bin/sh", "-c", "dd if=/dev/zero of=\"$MICROVM_SANDBOX_DIR/big\" bs=1M count=16 2>&1; "
                                                     "stat -c %s \"$MICROVM_SANDBOX_DIR/big\""});
    const std::string out = fill.value("stdout", "");
    EXPECT_NE(out.find("No space left"), std::string::npos) << fill.dump();
    EXPECT_LE(std::stoll(out.substr(out.find_last_of('\n', out.size() - 2) + 1)), 4 << 20) << out;
    // An upload that does not fit is refused with its reason, and leaves the file it would have
    // replaced as it was.
    auto over = h.call("PUT", "/v1/sandboxes/" + id + "/files/kept.txt", std::string(6 << 20, 'x'));
    EXPECT_EQ(over.status, 507) << over.body;
    EXPECT_NE(over.body.find("insufficient_storage"), std::string::npos) << over.body;
    EXPECT_EQ(h.call("GET", "/v1/sandboxes/" + id + "/files/kept.txt").body, "before");
    // Deleting the session frees its disk, and nothing stays mounted.
    EXPECT_EQ(h.call("DELETE", "/v1/sandboxes/" + id).status, 200);
    EXPECT_TRUE(std::filesystem::is_empty(h.dir + "/state/sandboxes"));
    std::ifstream mounts("/proc/self/mountinfo");
    std::string line;
    while (std::getline(mounts, line)) EXPECT_EQ(line.find(h.dir), std::string::npos) << line;
}

// The disks of a daemon that died are unmounted by the next one before its sweep; the sweep
// never enters a mount, so they stayed (and their directories) before.
TEST(Sessions, ADeadDaemonsSessionDisksAreUnmountedAtStart) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "mounting a session's disk needs root");
    const std::string dir = svctest::make_temp_dir();
    const std::string left = dir + "/state/sandboxes/sbx-000000000000000000000000";
    std::filesystem::create_directories(left);
    for (const std::string& d : {dir + "/state", dir + "/state/sandboxes"}) ::chmod(d.c_str(), 0700);
    ASSERT_EQ(::mount("tmpfs", left.c_str(), "tmpfs", 0, "size=1m"), 0) << std::strerror(errno);
    struct Cleanup {  // whatever the outcome, nothing of the test stays mounted
        std::string dir, left;
        ~Cleanup() {
            ::umount2(left.c_str(), MNT_DETACH);
            microvm::host::remove_tree(dir);
        }
    } cleanup{dir, left};
    std::ofstream(left + "/file") << "left";
    {
        microvm::service::ServiceOptions opts;
        opts.state_dir = dir + "/state";
        auto s = microvm::service::Service::create(std::move(opts), nullptr);
        ASSERT_TRUE(s) << s.error().message;
        EXPECT_FALSE(std::filesystem::exists(left));
    }
    std::ifstream mounts("/proc/self/mountinfo");
    std::string line;
    bool mounted = false;
    while (std::getline(mounts, line)) mounted = mounted || line.find(left) != std::string::npos;
    EXPECT_FALSE(mounted);
}

TEST(Sessions, PathsOutsideTheWorkDirectoryAreRefused) {
    REQUIRE_PROCESS();
    Harness h;
    std::string id = create_session(h, {{"provider", "process"}});
    std::ofstream(h.dir + "/state/outside.txt") << "secret";
    for (const std::string p : {"../outside.txt", "../../state/outside.txt", "a/../../outside.txt",
                                "%2e%2e/outside.txt", "/etc/passwd", "%2Fetc%2Fpasswd"}) {
        auto g = h.call("GET", "/v1/sandboxes/" + id + "/files/" + p);
        EXPECT_TRUE(g.status == 403 || g.status == 400 || g.status == 404) << p << " " << g.status;
        EXPECT_EQ(g.body.find("secret"), std::string::npos);
        auto w = h.call("PUT", "/v1/sandboxes/" + id + "/files/" + p, "pwned");
        EXPECT_TRUE(w.status == 403 || w.status == 400 || w.status == 404) << p << " " << w.status;
    }
    std::string outside;
    std::getline(std::ifstream(h.dir + "/state/outside.txt"), outside);
    EXPECT_EQ(outside, "secret");
    // Symlinks planted by a program inside, to a file and a directory outside.
    auto plant = session_exec(h, id, {"/bin/sh", "-c",
                              "cd \"$MICROVM_SANDBOX_DIR\" && ln -s /etc/passwd passwd && ln -s / root && "
                              "ln -s \"" + h.dir + "/state/outside.txt\" out && echo planted"});
    ASSERT_EQ(plant["stdout"], "planted\n") << plant.dump();
    for (const std::string p : {"passwd", "root/etc/passwd", "out"}) {
        auto g = h.call("GET", "/v1/sandboxes/" + id + "/files/" + p);
        EXPECT_EQ(g.status, 403) << p << " " << g.body;
        EXPECT_EQ(h.call("PUT", "/v1/sandboxes/" + id + "/files/" + p, "pwned").status, 403) << p;
    }
    EXPECT_FALSE(std::filesystem::exists("/pwned"));
    std::getline(std::ifstream(h.dir + "/state/outside.txt"), outside);
    EXPECT_EQ(outside, "secret");
    // Deleting the session removes its tree without following the links.
    EXPECT_EQ(h.call("DELETE", "/v1/sandboxes/" + id).status, 200);
    EXPECT_TRUE(std::filesystem::exists(h.dir + "/state/outside.txt"));
    EXPECT_TRUE(std::filesystem::exists("/etc/passwd"));
}

TEST(Sessions, ForgottenSessionsExpire) {
    Harness h([](microvm::service::ServiceOptions& o) {
        o.session_idle_timeout = std::chrono::seconds(1);
        o.session_max_lifetime = std::chrono::seconds(3);
    });
    std::string idle = create_session(h, {{"provider", "mock"}});
    std::string busy = create_session(h, {{"provider", "mock"}});
    ASSERT_EQ(h.call("PUT", "/v1/sandboxes/" + idle + "/files/f", "x").status, 200);
    // `busy` is used every 300 ms: it outlives the idle timeout but not the maximum lifetime.
    auto start = std::chrono::steady_clock::now();
    bool idle_gone = false;
    while (std::chrono::steady_clock::now() - start < 2500ms) {
        EXPECT_EQ(h.call("GET", "/v1/sandboxes/" + busy + "/files/none").status, 404);  // no such file, but alive
        // (Looked at from outside: a request would count as use.)
        if (!std::filesystem::exists(h.dir + "/state/sandboxes/" + idle)) idle_gone = true;
        else std::this_thread::sleep_for(300ms);
        if (idle_gone) break;
    }
    EXPECT_TRUE(idle_gone);
    EXPECT_EQ(h.call("GET", "/v1/sandboxes/" + idle + "/files/f").status, 404);
    EXPECT_FALSE(std::filesystem::exists(h.dir + "/state/sandboxes/" + idle));
    std::this_thread::sleep_for(3s);
    auto r = h.call_json("POST", "/v1/sandboxes/" + busy + "/exec", {{"eval", "1"}});
    EXPECT_EQ(r.status, 404);
    EXPECT_TRUE(std::filesystem::is_empty(h.dir + "/state/sandboxes"));
    EXPECT_EQ(h.metric("microvmd_active_sandboxes"), 0);
}

TEST(Sessions, TheSessionsLimitHolds) {
    // One client here: it may hold every session (a single-user daemon's setting).
    Harness h([](microvm::service::ServiceOptions& o) {
        o.max_sessions = 2;
        o.max_client_sessions = 2;
    });
    create_session(h, {{"provider", "mock"}});
    create_session(h, {{"provider", "mock"}});
    auto r = h.call_json("POST", "/v1/sandboxes", {{"provider", "mock"}});
    EXPECT_EQ(r.status, 429);
    EXPECT_EQ(h.call_json("POST", "/v1/sandboxes", {{"provider", "nope"}}).status, 400);
    EXPECT_EQ(h.call_json("POST", "/v1/sandboxes/sbx-unknown/exec", {{"eval", "1"}}).status, 404);
}

// The attack (red team, 2026-12-05): a client allowed one session created one, wrote 60 MB into
// its disk, opened a slow download of it and deleted the session, eight times: 8 disks (467 MiB
// of memory) stayed for as long as the downloads ran, outside every quota. An open download now
// keeps its session's place in the owner's quota, and only its own file: the rest of the disk
// is emptied when the session ends.
TEST(Sessions, AnOpenDownloadKeepsItsDeletedSessionInTheOwnersQuota) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "mounting a session's disk needs root");
    Harness h([](microvm::service::ServiceOptions& o) {
        o.max_sessions = 4;
        o.max_client_sessions = 1;
        o.session_disk_bytes = 8 << 20;
    });
    auto& svc = *h.service;
    const auto alice = token_client("alice");
    const auto create = [&] { return svc.create_session(json{{"provider", "mock"}}.dump(), alice); };
    auto made = create();
    ASSERT_EQ(made.status, 201) << made.body;
    const std::string id = json::parse(made.body).value("id", "");
    ASSERT_EQ(svc.put_file(id, "wanted", std::string(1 << 20, 'w'), alice).status, 200);
    ASSERT_EQ(svc.put_file(id, "other", std::string(4 << 20, 'o'), alice).status, 200);
    const std::string disk = h.dir + "/state/sandboxes/" + id;
    std::optional<microvm::service::Reply> download = svc.get_file(id, "wanted", alice);
    ASSERT_TRUE(download->file);
    ASSERT_EQ(svc.delete_session(id, alice).status, 200);
    // The download still reads its file whole; the session's other file is gone from memory.
    std::string read(1 << 20, '\0');
    EXPECT_EQ(::pread(download->file->fd.get(), read.data(), read.size(), 0), 1 << 20);
    EXPECT_EQ(read, std::string(1 << 20, 'w'));
    struct statfs held {};
    ASSERT_EQ(::fstatfs(download->file->fd.get(), &held), 0);
    EXPECT_LE((held.f_blocks - held.f_bfree) * held.f_bsize, 2u << 20) << "the rest of the disk stayed";
    // Alice's one session is still taken while the download runs, and hers again after.
    auto refused = create();
    EXPECT_EQ(refused.status, 429) << refused.body;
    EXPECT_NE(refused.body.find("client_quota"), std::string::npos) << refused.body;
    download.reset();
    auto again = create();
    EXPECT_EQ(again.status, 201) << again.body;
}

// What a download pins: the session's place in its owner's quota while it lives, nothing once it
// ended (get_file then answers 404 rather than open a file outside the quota: a review found a
// delete between the lookup and the pin let a download go unpinned).
TEST(Sessions, APinIsTheOwnersPlaceUntilTheSessionEnds) {
    const std::string dir = make_temp_dir();
    {
        microvm::service::SessionStore store(dir, std::chrono::seconds(600), std::chrono::seconds(600), 4, 1, nullptr);
        const auto alice = token_client("alice");
        auto s = store.create("mock", {}, alice);
        ASSERT_TRUE(s) << s.error().message;
        std::shared_ptr<void> pin = store.pin(**s);
        EXPECT_TRUE(pin);
        ASSERT_TRUE(store.end((*s)->id, alice, microvm::service::SessionEnd::Deleted));
        EXPECT_FALSE(store.pin(**s)) << "an ended session pins nothing";
        EXPECT_FALSE(store.create("mock", {}, alice)) << "the pin still holds alice's one place";
        pin.reset();
        EXPECT_TRUE(store.create("mock", {}, alice));
    }
    microvm::host::remove_tree(dir);
}

TEST(Sessions, EveryOperationIsAudited) {
    std::string dir = make_temp_dir();
    auto log = microvm::service::AuditLog::open(dir + "/audit.jsonl", microvm::service::AuditSync::Never);
    ASSERT_TRUE(log);
    {
        Harness h(nullptr, {}, std::move(*log));
        std::string id = create_session(h, {{"provider", "mock"}, {"timeout", "5s"}});
        h.call("PUT", "/v1/sandboxes/" + id + "/files/a", "abc");
        h.call("GET", "/v1/sandboxes/" + id + "/files/../x");
        h.call_json("POST", "/v1/sandboxes/" + id + "/exec", {{"eval", "(+ 2 2)"}});
        h.call_json("POST", "/v1/executions", {{"provider", "mock"}, {"eval", "(+ 1 2)"}, {"memory_limit_mb", 64}});
        h.call("DELETE", "/v1/sandboxes/" + id);
        create_session(h, {{"provider", "mock"}});  // still live when the daemon stops
    }
    std::ifstream in(dir + "/audit.jsonl");
    std::vector<json> records;
    for (std::string line; std::getline(in, line);) records.push_back(json::parse(line));
    microvm::host::remove_tree(dir);
    std::vector<std::string> events;
    for (const auto& r : records) events.push_back(r["event"]);
    // A session the daemon's stopping ended did not expire (it was recorded so before).
    EXPECT_EQ(events, (std::vector<std::string>{"session_create", "session_put_file", "session_get_file",
                                                "session_exec", "execution", "session_delete",
                                                "session_create", "session_shutdown"}));
    EXPECT_EQ(records.back()["outcome"], "shutdown");
    const json& ex = records[4];
    EXPECT_EQ(ex["client"]["transport"], "unix");
    EXPECT_EQ(ex["client"]["uid"], ::geteuid());
    EXPECT_EQ(ex["provider"], "mock");
    EXPECT_EQ(ex["policy"]["memory_limit_mb"], 64);
    EXPECT_EQ(ex["program"]["sha256"].get<std::string>().size(), 64u);
    EXPECT_EQ(ex["status"], "ok");
    EXPECT_TRUE(ex["resources"].contains("duration_ms"));
    EXPECT_EQ(records[2]["outcome"], "path_refused");
    EXPECT_EQ(records[1]["detail"]["bytes"], 3);
}
