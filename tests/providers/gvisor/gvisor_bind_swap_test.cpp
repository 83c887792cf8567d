// The bind-source race (docs/security.md, gVisor): someone on the host who can write a bound
// path's parent directory swaps the path (a symlink to another directory, or a file renamed over
// it) after the host checked it and before runsc mounts it. runsc follows symlinks when it binds
// a source by path, so the provider never gives it one: it stages the checked objects where
// nobody else can swap them (staged_binds.hpp). The test hooks (BindWindowHooks) make the race
// deterministic: the swap happens exactly in the window an attacker would aim at.
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "gvisor/fs_tree.hpp"
#include "gvisor/oci_spec.hpp"
#include "gvisor/runtime.hpp"
#include "gvisor/state_dir.hpp"
#include "host/mountinfo.hpp"
#include "support/expectations.hpp"
#include "support/host_files.hpp"

namespace microvm {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using testsupport::HostDir;
using testsupport::write_file;
using testsupport::read_text;
using testsupport::glob_paths;

// The directory "data" holding f = "checked", and "secret" holding f = "secret" (standing for
// /etc or /root): the attacker replaces data with a symlink to secret, keeping the checked
// directory under another name.
struct SwapScene {
    // base: below /tmp (the sandbox's own tmpfs), binds are the spec's; elsewhere, read-only ones
    // lie in the bundle's root directory (staged_binds.hpp).
    explicit SwapScene(const std::string& base = "/tmp") : dir("gvisor-bind-swap", base) {
        for (const fs::path& d : {data, secret}) {
            fs::create_directory(d);
            fs::permissions(d, fs::perms::all);  // writable by the sandbox's user
        }
        write_file(data / "f", "checked\n");
        write_file(secret / "f", "secret\n");
    }
    HostDir dir;
    fs::path data = dir.path() / "data";
    fs::path checked = dir.path() / "data.checked";
    fs::path secret = dir.path() / "secret";
    void swap_in_symlink() const {
        fs::rename(data, checked);
        fs::create_directory_symlink(secret, data);
    }
    void undo_swap() const {
        fs::remove(data);
        fs::rename(checked, data);
    }
};

// Reads data/f and writes data/planted (shell builtins only: nothing else is bound).
host::SandboxRequest reader_writer(const fs::path& data) {
    host::SandboxRequest req;
    req.program = "/bin/sh";
    req.argv = {"/bin/sh", "-c",
                "read a < '" + (data / "f").string() + "'; echo \"$a\"; echo planted > '" +
                    (data / "planted").string() + "'"};
    req.fs_policy = FileSystemPolicy::read_write({data.string()});
    req.timeout = 20s;
    return req;
}

ino_t inode_of(const fs::path& p) {
    struct stat st {};
    ::stat(p.c_str(), &st);
    return st.st_ino;
}

// Mounts of this process's gvisor state directories in its mount namespace (staged sources).
size_t own_mounts() {
    const std::string marker = std::string(gvisor::kNamePrefix) + std::to_string(::getpid()) + ".";
    std::ifstream in("/proc/self/mountinfo");
    size_t n = 0;
    for (std::string line; std::getline(in, line);) n += line.find(marker) != std::string::npos;
    return n;
}

// A sandbox built ahead for req while the hooks swap the source in, the swap undone before its
// launch (which its launch check cannot see), then launched: what it ran with.
Expected<host::SandboxReport> launched_after_the_swap_is_undone(gvisor::Runtime& runtime,
                                                                const SwapScene& scene,
                                                                const host::SandboxRequest& req) {
    RTFS_TRY(std::unique_ptr<host::PreparedRun> prepared, runtime.prepare(req));
    scene.undo_swap();
    if (!prepared->current()) {
        return fail(Failure::Kind::SetupError, "the sandbox built ahead was no longer current");
    }
    return prepared->launch(req);
}

class GvisorBindSwapTest : public ::testing::Test {
  protected:
    void SetUp() override {
        auto runtime = gvisor::Runtime::create({});
        if (!runtime) MICROVM_REQUIRE("gvisor", false, runtime.error().message);
        runtime_ = std::move(*runtime);
    }
    std::unique_ptr<gvisor::Runtime> runtime_;
};

// The swap right before runsc starts: runsc is given the staged directory, the one that was
// checked, so the program reads and writes that one and never sees the symlink's target.
TEST_F(GvisorBindSwapTest, AFreshRunBindsTheCheckedDirectoryNotASymlinkSwappedInBeforeRunsc) {
    SwapScene scene;
    runtime_->set_bind_window_hooks_for_tests({.before_runsc = [&] { scene.swap_in_symlink(); }});
    auto r = runtime_->run(reader_writer(scene.data));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->stdout_data.data, "checked\n") << r->stderr_data.data;
    EXPECT_EQ(r->exit_code, 0) << r->stderr_data.data;
    EXPECT_FALSE(fs::exists(scene.secret / "planted"));
    EXPECT_EQ(read_text(scene.checked / "planted"), "planted\n");
}

// Whether a bundle of this process holds a mount at rootfs<destination> (a bind staged in the
// root, staged_binds.hpp).
bool staged_in_root(const fs::path& destination) {
    const std::string bundles = "/run/" + std::string(gvisor::kNamePrefix) +
                                std::to_string(::getpid()) + ".*/bundles/*";
    for (const std::string& bundle : glob_paths(bundles)) {
        for (const std::string& point : host::mount_points_below(bundle)) {
            if (point == bundle + "/rootfs" + destination.string()) return true;
        }
    }
    return false;
}

// Right before runsc starts: notes whether scene's bind was staged in the root, then swaps.
void swap_before_runsc(gvisor::Runtime& runtime, SwapScene& scene, bool& in_root) {
    runtime.set_bind_window_hooks_for_tests({.before_runsc = [&scene, &in_root] {
        in_root = staged_in_root(scene.data);
        scene.swap_in_symlink();
    }});
}

// Reads data/f (a shell builtin: nothing else is bound), data read-only.
host::SandboxRequest reader(const fs::path& data) {
    host::SandboxRequest req;
    req.program = "/bin/sh";
    req.argv = {"/bin/sh", "-c", "read a < '" + (data / "f").string() + "'; echo \"$a\""};
    req.fs_policy = FileSystemPolicy::read_only({data.string()});
    req.timeout = 20s;
    return req;
}

// The same swap for a read-only bind staged in the bundle's root directory (a source outside the
// sandbox's /tmp): the program reads the checked directory.
TEST_F(GvisorBindSwapTest, AReadOnlyBindInTheRootIsTheCheckedDirectoryNotASymlinkSwappedInBeforeRunsc) {
    SwapScene scene("/var/tmp");
    bool in_root = false;
    swap_before_runsc(*runtime_, scene, in_root);
    auto r = runtime_->run(reader(scene.data));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(in_root) << "the bind was not staged in the root";
    EXPECT_EQ(r->stdout_data.data, "checked\n") << r->stderr_data.data;
}

// The same for a sandbox built ahead, the swap undone before its launch.
TEST_F(GvisorBindSwapTest, ASandboxBuiltAheadHoldsTheCheckedReadOnlyDirectoryInItsRoot) {
    SwapScene scene("/var/tmp");
    bool in_root = false;
    swap_before_runsc(*runtime_, scene, in_root);
    auto r = launched_after_the_swap_is_undone(*runtime_, scene, reader(scene.data));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(in_root) << "the bind was not staged in the root";
    EXPECT_EQ(r->stdout_data.data, "checked\n") << r->stderr_data.data;
}

// Red team, 2026-12-05: runsc caches the root's files as exclusive to the sandbox by default
// (`--file-access=exclusive`), while binds of the spec are revalidated. A read-only bind staged in
// the root then showed a file's old size, and not a file the host created, after the program
// had looked once: a program reading host data that changes while it runs saw stale contents.
// The provider asks for `--file-access=shared`, as binds of the spec have.
TEST_F(GvisorBindSwapTest, AReadOnlyBindInTheRootShowsTheHostsChangesWhileTheProgramRuns) {
    SwapScene scene("/var/tmp");
    const fs::path f = scene.data / "f";
    const fs::path added = scene.data / "new";
    host::SandboxRequest req;
    req.program = "/bin/sh";
    req.argv = {"/bin/sh", "-c",
                "while read l; do :; done < '" + f.string() + "'; echo ready; " +
                    "while [ ! -e '" + added.string() + "' ]; do :; done; " +
                    "while read l; do echo \"$l\"; done < '" + f.string() + "'"};
    req.fs_policy = FileSystemPolicy::read_only({scene.data.string()});
    req.timeout = 20s;
    req.on_output = [&](OutputStream stream, std::string_view chunk) {
        if (stream == OutputStream::Stdout && chunk.find("ready") != std::string_view::npos) {
            std::ofstream(f, std::ios::app) << "appended\n";
            write_file(added, "");
        }
    };
    auto r = runtime_->run(req);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->end, host::SandboxReport::End::Exited) << "the new file was never seen";
    EXPECT_EQ(r->stdout_data.data, "ready\nchecked\nappended\n") << r->stderr_data.data;
}

// The same swap between the check and the staging: the object at the path is no longer the one
// checked, and the run is refused naming the path, leaving nothing behind.
TEST_F(GvisorBindSwapTest, AFreshRunIsRefusedWhenASourceIsSwappedBeforeItIsStaged) {
    SwapScene scene;
    runtime_->set_bind_window_hooks_for_tests({.after_check = [&] { scene.swap_in_symlink(); }});
    auto r = runtime_->run(reader_writer(scene.data));
    ASSERT_FALSE(r) << "ran: " << r->stdout_data.data;
    EXPECT_EQ(r.error().kind, Failure::Kind::SetupError);
    EXPECT_NE(r.error().message.find("bind source '" + scene.data.string() +
                                     "' was replaced after it was checked"),
              std::string::npos)
        << r.error().message;
    EXPECT_FALSE(fs::exists(scene.secret / "planted"));
    EXPECT_EQ(glob_paths("/run/" + std::string(gvisor::kNamePrefix) + std::to_string(::getpid()) +
                         ".*/bundles/*"),
              std::vector<std::string>{});
    EXPECT_EQ(own_mounts(), 0u);
}

// A file renamed over a bound one (how updates replace files) before it is staged: refused too.
TEST_F(GvisorBindSwapTest, AFreshRunIsRefusedWhenAFileIsRenamedOverBeforeItIsStaged) {
    HostDir dir{"gvisor-bind-swap"};
    const fs::path file = dir.path() / "file";
    write_file(file, "checked\n");
    runtime_->set_bind_window_hooks_for_tests({.after_check = [&] {
        write_file(dir.path() / "file.new", "swapped\n");
        fs::rename(dir.path() / "file.new", file);
    }});
    host::SandboxRequest req;
    req.program = "/bin/sh";
    req.argv = {"/bin/sh", "-c", "read a < '" + file.string() + "'; echo \"$a\""};
    req.fs_policy = FileSystemPolicy::read_only({file.string()});
    auto r = runtime_->run(req);
    ASSERT_FALSE(r) << "ran: " << r->stdout_data.data;
    EXPECT_NE(r.error().message.find("bind source '" + file.string() +
                                     "' was replaced after it was checked"),
              std::string::npos)
        << r.error().message;
}

// Whether a process of uid can open path for reading (a forked child that becomes it).
bool opens_as(uid_t uid, const std::string& path) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        if (::setgroups(0, nullptr) != 0 || ::setgid(uid) != 0 || ::setuid(uid) != 0) ::_exit(2);
        ::_exit(::open(path.c_str(), O_RDONLY | O_CLOEXEC) >= 0 ? 0 : 1);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 2) << "could not become uid " << uid;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// What runsc is given instead of the policy paths: staged mounts where only root can change or
// enter (whoever could rename there could redirect runsc's bind again; whoever could enter would
// reach the sources past the directories that keep them out), each the checked object with its
// final attributes (read-only binds read-only on the host too). A read-only bind lies in the
// bundle's root directory at its destination (runsc's gofer serves it with the root), a writable
// one in binds/. The attack: a host process of the sandbox's uid (or any other user) opens a
// staged file whose own directories keep it out, through the bundle.
TEST_F(GvisorBindSwapTest, StagedSourcesLieWhereOnlyRootCanChangeOrReachThem) {
    SwapScene scene("/var/tmp");  // scene.dir is root's alone (0700): nobody else reaches ro/f
    const fs::path ro = scene.dir.path() / "ro";
    fs::create_directory(ro);
    fs::permissions(ro, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec);
    write_file(ro / "f", "kept out\n");
    fs::permissions(ro / "f", fs::perms::owner_read | fs::perms::owner_write |
                                  fs::perms::group_read | fs::perms::others_read);
    std::vector<std::string> bundles;
    std::map<ino_t, std::pair<std::string, unsigned long>> staged;  // by inode: point, flags
    std::vector<std::string> reached;
    runtime_->set_bind_window_hooks_for_tests({.before_runsc = [&] {
        bundles = glob_paths("/run/" + std::string(gvisor::kNamePrefix) +
                             std::to_string(::getpid()) + ".*/bundles/*");
        for (const std::string& bundle : bundles) {
            for (const std::string& point : host::mount_points_below(bundle)) {
                if (point == bundle) continue;
                struct stat st;
                struct statvfs vfs;
                if (::stat(point.c_str(), &st) == 0 && ::statvfs(point.c_str(), &vfs) == 0) {
                    staged[st.st_ino] = {point, vfs.f_flag};
                }
                for (fs::path p = fs::path(point).parent_path(); p != "/"; p = p.parent_path()) {
                    struct stat dir;
                    ASSERT_EQ(::lstat(p.c_str(), &dir), 0) << p;
                    EXPECT_TRUE(S_ISDIR(dir.st_mode)) << p;
                    EXPECT_EQ(dir.st_uid, 0u) << p;
                    EXPECT_EQ(dir.st_mode & 022, 0u) << p << " is writable by others";
                }
                for (uid_t uid : {gvisor::kSandboxUid, uid_t{1000}}) {
                    const std::string file = point + "/f";
                    if (opens_as(uid, file)) reached.push_back(file + " as uid " + std::to_string(uid));
                }
            }
            struct stat st;
            ASSERT_EQ(::stat(bundle.c_str(), &st), 0);
            EXPECT_EQ(st.st_mode & 07777, 0700u) << bundle;
        }
    }});
    // The program reads ro/f, and can write neither there nor in the directory the host made
    // in the root on the way to it (the root's, 0755).
    host::SandboxRequest req;
    req.program = "/bin/sh";
    req.argv = {"/bin/sh", "-c",
                "read a < '" + (ro / "f").string() + "'; echo \"$a\"; echo x > '" +
                    (ro / "g").string() + "' || echo refused; echo x > '" +
                    (scene.dir.path() / "planted").string() + "' || echo refused"};
    req.fs_policy = FileSystemPolicy::read_write({scene.data.string()}, {ro.string()});
    auto r = runtime_->run(req);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->stdout_data.data, "kept out\nrefused\nrefused\n") << r->stderr_data.data;
    EXPECT_FALSE(fs::exists(scene.dir.path() / "planted"));
    EXPECT_FALSE(fs::exists(ro / "g"));
    ASSERT_EQ(bundles.size(), 1u);
    EXPECT_EQ(reached, std::vector<std::string>{}) << "a staged object was reached past its directories";
    const ino_t rw_ino = inode_of(scene.data);
    const ino_t ro_ino = inode_of(ro);
    ASSERT_TRUE(staged.count(rw_ino));
    ASSERT_TRUE(staged.count(ro_ino));
    EXPECT_EQ(staged[ro_ino].first, bundles[0] + "/rootfs" + ro.string());
    EXPECT_EQ(fs::path(staged[rw_ino].first).parent_path(), fs::path(bundles[0]) / "binds");
    constexpr unsigned long kFlags = ST_RDONLY | ST_NOSUID | ST_NODEV;
    EXPECT_EQ(staged[rw_ino].second & kFlags, ST_NOSUID | ST_NODEV);
    EXPECT_EQ(staged[ro_ino].second & kFlags, kFlags);
    runtime_.reset();  // waits for the teardown, which detaches the staged mounts
    EXPECT_EQ(own_mounts(), 0u);
}

// A sandbox built ahead re-checks its sources before its launch, which cannot see a swap undone
// in time: the symlink in place while runsc binds, the checked directory back before the launch.
// The sandbox holds the checked directory all the same.
TEST_F(GvisorBindSwapTest, ASandboxBuiltAheadHoldsTheCheckedDirectoryThoughASwapWasUndone) {
    SwapScene scene;
    runtime_->set_bind_window_hooks_for_tests({.before_runsc = [&] { scene.swap_in_symlink(); }});
    auto r = launched_after_the_swap_is_undone(*runtime_, scene, reader_writer(scene.data));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->stdout_data.data, "checked\n") << r->stderr_data.data;
    EXPECT_FALSE(fs::exists(scene.secret / "planted"));
    EXPECT_EQ(read_text(scene.data / "planted"), "planted\n");
}

// A bind of the host's own file system left attached below a bundle (a detach that failed) is
// not walked into by the bundle's removal: the host files it shows stay (a walk that compares
// device numbers only, as nftw's FTW_MOUNT did, would enter it: a bind of the same file system
// has the same one).
TEST(GvisorFsTree, RemovingATreeNeverEmptiesABindLeftInIt) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "bind mounts need root");
    HostDir host{"gvisor-fs-tree-host"};
    HostDir bundle{"microvm-test-gvisor-fs-tree-bundle"};  // "microvm-": other tests' mount checks skip it
    write_file(host.path() / "precious", "keep\n");
    const fs::path point = bundle.path() / "binds" / "0";
    fs::create_directories(point);
    ASSERT_EQ(::mount(host.path().c_str(), point.c_str(), nullptr, MS_BIND, nullptr), 0) << std::strerror(errno);
    gvisor::remove_tree(bundle.path().string());
    EXPECT_EQ(read_text(host.path() / "precious"), "keep\n") << "the host's file was deleted through the bind";
    EXPECT_TRUE(host::mount_points_below(bundle.path().string()).empty());
    ::umount2(point.c_str(), MNT_DETACH);  // if the removal left it
}

}  // namespace
}  // namespace microvm
