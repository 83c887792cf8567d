// The file-system policy inside the engine: preopens, confinement (no escape through "..",
// absolute paths or symlinks) and rights (read-only vs read-write). Every case runs twice: with
// openat2(RESOLVE_BENEATH) and with the component-wise fallback walk.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "confined_path.hpp"
#include "host/boot_cache.hpp"
#include "fd_table.hpp"
#include "support/expectations.hpp"
#include "test_support.hpp"

namespace wasmtest {
namespace {

namespace fs = std::filesystem;
using microvm::FileSystemPolicy;
using microvm::Status;

constexpr int kNotCapable = 100 + 76;  // fs_ops exit code for WASI ENOTCAPABLE
constexpr int kBadf = 100 + 8;

class FsPolicyTest : public WasmTest, public ::testing::WithParamInterface<bool> {
  protected:
    void SetUp() override {
        WasmTest::SetUp();
        microvm::wasm::force_component_walk_for_testing(GetParam());
        write_file(sandbox() / "data.txt", "inside\n");
        fs::create_directories(sandbox() / "sub");
        write_file(outside() / "secret.txt", "secret\n");
        fs::create_symlink(outside() / "secret.txt", sandbox() / "link_out_abs");
        fs::create_symlink("../outside/secret.txt", sandbox() / "link_out_rel");
        fs::create_symlink("../outside", sandbox() / "dir_link_out");
        fs::create_symlink("data.txt", sandbox() / "link_in");
        fs::create_symlink("../data.txt", sandbox() / "sub" / "link_up_in");
    }
    void TearDown() override {
        microvm::wasm::force_component_walk_for_testing(false);
        WasmTest::TearDown();
    }
    fs::path sandbox() const { return tmp.path() / "sandbox"; }
    fs::path outside() const { return tmp.path() / "outside"; }

    microvm::ExecutionResult fs_op(FileSystemPolicy policy, std::vector<std::string> args) {
        auto ctx = context(fixture("fs_ops.wat"), std::move(args));
        ctx.config.fs_policy = std::move(policy);
        return run(ctx);
    }
    FileSystemPolicy ro() const { return FileSystemPolicy::read_only({sandbox().string()}); }
    FileSystemPolicy rw() const { return FileSystemPolicy::read_write({sandbox().string()}); }

    TempDir tmp;
};

TEST_P(FsPolicyTest, ReadsInsideThePreopen) {
    for (const char* path : {"data.txt", "./sub/../data.txt", "link_in", "sub/link_up_in"}) {
        auto r = fs_op(ro(), {"r", path});
        ASSERT_EQ(r.status, Status::Ok) << path << ": " << describe(r);
        EXPECT_EQ(r.metadata.stdout_data, "inside\n") << path;
    }
}

TEST_P(FsPolicyTest, NoEscapeThroughDotDotAbsolutePathsOrSymlinks) {
    const std::string absolute = (outside() / "secret.txt").string();
    for (const std::string& path :
         {std::string("../outside/secret.txt"), std::string("sub/../../outside/secret.txt"),
          std::string("sub/../.."), absolute, std::string("link_out_abs"),
          std::string("link_out_rel"), std::string("dir_link_out/secret.txt")}) {
        auto r = fs_op(rw(), {"r", path});
        EXPECT_EQ(r.status, Status::RuntimeError) << path << ": " << describe(r);
        EXPECT_EQ(r.metadata.exit_code, kNotCapable) << path << ": " << describe(r);
        EXPECT_EQ(r.metadata.stdout_data.find("secret"), std::string::npos) << path;
        auto stat = fs_op(rw(), {"s", path});
        EXPECT_EQ(stat.metadata.exit_code, kNotCapable) << "stat " << path;
    }
}

TEST_P(FsPolicyTest, NoWritesOutsideThroughSymlinksOrDotDot) {
    for (const char* path :
         {"link_out_rel", "link_out_abs", "../outside/new.txt", "dir_link_out/new.txt"}) {
        auto r = fs_op(rw(), {"w", path});
        EXPECT_EQ(r.metadata.exit_code, kNotCapable) << path << ": " << describe(r);
    }
    EXPECT_EQ(read_file(outside() / "secret.txt"), "secret\n");
    EXPECT_FALSE(fs::exists(outside() / "new.txt"));
    for (const char* path : {"../outside", "dir_link_out/x"}) {
        EXPECT_EQ(fs_op(rw(), {"m", path}).metadata.exit_code, kNotCapable) << path;
    }
    EXPECT_EQ(fs_op(rw(), {"u", "../outside/secret.txt"}).metadata.exit_code, kNotCapable);
    EXPECT_EQ(fs_op(rw(), {"n", "data.txt", "../outside/moved.txt"}).metadata.exit_code,
              kNotCapable);
    EXPECT_TRUE(fs::exists(outside() / "secret.txt"));
    EXPECT_FALSE(fs::exists(outside() / "moved.txt"));
}

TEST_P(FsPolicyTest, NoPreopensWithoutAFilePolicy) {
    auto r = fs_op(FileSystemPolicy::none(), {"r", "data.txt"});
    EXPECT_EQ(r.metadata.exit_code, kBadf) << describe(r);
}

TEST_P(FsPolicyTest, ReadOnlyRejectsEveryChange) {
    EXPECT_EQ(fs_op(ro(), {"w", "new.txt"}).metadata.exit_code, kNotCapable);
    EXPECT_EQ(fs_op(ro(), {"a", "data.txt"}).metadata.exit_code, kNotCapable);
    EXPECT_EQ(fs_op(ro(), {"m", "newdir"}).metadata.exit_code, kNotCapable);
    EXPECT_EQ(fs_op(ro(), {"u", "data.txt"}).metadata.exit_code, kNotCapable);
    EXPECT_EQ(fs_op(ro(), {"n", "data.txt", "moved.txt"}).metadata.exit_code, kNotCapable);
    EXPECT_FALSE(fs::exists(sandbox() / "new.txt"));
    EXPECT_FALSE(fs::exists(sandbox() / "newdir"));
    EXPECT_FALSE(fs::exists(sandbox() / "moved.txt"));
    EXPECT_EQ(read_file(sandbox() / "data.txt"), "inside\n");
}

TEST_P(FsPolicyTest, ReadWriteChangesLandOnTheHost) {
    auto w = fs_op(rw(), {"w", "new.txt"});
    ASSERT_EQ(w.status, Status::Ok) << describe(w);
    EXPECT_EQ(read_file(sandbox() / "new.txt"), "written by wasm\n");
    ASSERT_EQ(fs_op(rw(), {"m", "newdir"}).status, Status::Ok);
    EXPECT_TRUE(fs::is_directory(sandbox() / "newdir"));
    ASSERT_EQ(fs_op(rw(), {"n", "new.txt", "newdir/renamed.txt"}).status, Status::Ok);
    EXPECT_EQ(read_file(sandbox() / "newdir" / "renamed.txt"), "written by wasm\n");
    ASSERT_EQ(fs_op(rw(), {"u", "data.txt"}).status, Status::Ok);
    EXPECT_FALSE(fs::exists(sandbox() / "data.txt"));
}

TEST_P(FsPolicyTest, ListsADirectory) {
    auto r = fs_op(ro(), {"l", "."});
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    for (const char* name : {"data.txt\n", "sub\n", "link_in\n"}) {
        EXPECT_NE(r.metadata.stdout_data.find(name), std::string::npos) << r.metadata.stdout_data;
    }
}

TEST_P(FsPolicyTest, FullPolicyPreopensTheRoot) {
    std::string relative_to_root = (sandbox() / "data.txt").string().substr(1);
    auto r = fs_op(FileSystemPolicy::full(), {"r", relative_to_root});
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(r.metadata.stdout_data, "inside\n");
}

// The attack (red team, 2026-12-04): under `full`, /proc/kmsg read through WASI blocked the
// engine past its timeout for good (its descriptor had been made blocking), and /proc/self/mem,
// the host process's own memory since the engine runs in it, opened read-write. No object on a
// kernel file system is opened, whatever the policy; other files under `full` still are.
TEST_P(FsPolicyTest, FullDoesNotReachKernelInterfaces) {
    constexpr int kAcces = 100 + 2;
    // The cgroup file system: v1's hierarchies lie below a tmpfs, v2's is the directory itself.
    const std::string cgroupfs = fs::exists("/sys/fs/cgroup/memory") ? "sys/fs/cgroup/memory" : "sys/fs/cgroup";
    const std::vector<std::vector<std::string>> attempts = {
        {"r", "proc/kmsg"},        {"a", "proc/self/mem"}, {"r", "proc/self/status"},
        {"l", "proc/self"},        {"r", "sys/kernel/uevent_seqnum"},
        {"l", cgroupfs},           {"w", "proc/self/comm"},
        // Path calls other than path_open (red team, 2026-12-04): a mkdir in cgroupfs made a
        // host cgroup, a stat or readlink of /proc/self told the host's secrets.
        {"m", cgroupfs + "/microvm-wasm-test"}, {"s", "proc/self/mem"}, {"w", "proc/self/new"},
        {"u", cgroupfs + "/tasks"},  {"n", "proc/self/comm", "proc/self/x"}};
    for (const auto& args : attempts) {
        auto ctx = context(fixture("fs_ops.wat"), args);
        ctx.config.fs_policy = FileSystemPolicy::full();
        ctx.config.timeout = std::chrono::seconds(5);
        auto r = run(ctx);
        EXPECT_EQ(r.metadata.exit_code, kAcces) << args[1] << ": " << describe(r);
        EXPECT_EQ(r.metadata.stdout_data, "") << args[1];
    }
    EXPECT_FALSE(fs::exists("/" + cgroupfs + "/microvm-wasm-test")) << "the guest made a host cgroup";
    auto control = fs_op(FileSystemPolicy::full(), {"r", "etc/os-release"});
    ASSERT_EQ(control.status, Status::Ok) << describe(control);
    EXPECT_NE(control.metadata.stdout_data.find("NAME="), std::string::npos);
}

// The attack (red team, 2026-12-04): path_open opened first and refused after, so the kernel
// had already acted: an O_TRUNC of tracefs's `trace` "refused" with EACCES had wiped the trace
// buffer (and of set_event disabled every event). Nothing on a kernel interface is opened now:
// the name is looked up with O_PATH, which runs no driver, and judged before the open. A trace
// instance of the test's own, on a tracefs mounted in a directory of its own.
TEST_P(FsPolicyTest, FullOpensNothingOnAKernelInterfaceEvenToRefuseIt) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "mounting a tracefs needs root");
    const fs::path mnt = tmp.path() / "tracing";
    fs::create_directories(mnt);
    ASSERT_EQ(::mount("nodev", mnt.c_str(), "tracefs", 0, nullptr), 0) << std::strerror(errno);
    const fs::path instance = mnt / "instances" / ("microvm-wasm-test-" + std::to_string(::getpid()));
    fs::create_directory(instance);
    write_file(instance / "trace_marker", "microvm-marker\n");
    auto buffer = [&] { return read_file(instance / "trace"); };
    ASSERT_NE(buffer().find("microvm-marker"), std::string::npos) << buffer();
    for (const char* op : {"w", "a"}) {
        auto r = fs_op(FileSystemPolicy::full(), {op, (instance / "trace").string().substr(1)});
        EXPECT_EQ(r.metadata.exit_code, 100 + 2) << op << ": " << describe(r);
    }
    EXPECT_NE(buffer().find("microvm-marker"), std::string::npos) << "the refused open truncated the trace buffer";
    ::rmdir(instance.c_str());
    ::umount2(mnt.c_str(), MNT_DETACH);
}

// Two ways round the judgement (red team, 2026-12-04): O_CREAT through a dangling symlink made
// its target, a POSIX message queue, on the mqueue file system the link pointed into; and
// setting the times of a name, not followed, reached the root of a kernel file system mounted
// there. Both are refused now, and nothing is made or changed.
TEST_P(FsPolicyTest, FullReachesNoKernelInterfaceThroughALinkOrAMountPoint) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "mounting an mqueue file system needs root");
    const fs::path mq = tmp.path() / "mq";
    fs::create_directories(mq);
    ASSERT_EQ(::mount("none", mq.c_str(), "mqueue", 0, nullptr), 0) << std::strerror(errno);
    const std::string queue = "microvm-wasm-test-" + std::to_string(::getpid());
    fs::create_symlink("../mq/" + queue, sandbox() / "to-queue");
    // The same through a chain of 20 dangling links (every link the kernel would follow, up to
    // its 40, is judged; a shorter bound here refused the control's chain below).
    auto chain = [&](const std::string& stem, const std::string& end) {
        for (int i = 0; i < 20; ++i) {
            fs::create_symlink(i == 19 ? end : stem + std::to_string(i + 1), sandbox() / (stem + std::to_string(i)));
        }
        return (sandbox() / (stem + "0")).string().substr(1);
    };
    struct stat before {};
    ASSERT_EQ(::stat(mq.c_str(), &before), 0);
    auto create = fs_op(FileSystemPolicy::full(), {"w", (sandbox() / "to-queue").string().substr(1)});
    EXPECT_EQ(create.metadata.exit_code, 100 + 2) << describe(create);
    auto through_chain = fs_op(FileSystemPolicy::full(), {"w", chain("hop", "../mq/" + queue)});
    EXPECT_EQ(through_chain.metadata.exit_code, 100 + 2) << describe(through_chain);
    const bool made = fs::exists(mq / queue);
    auto times = fs_op(FileSystemPolicy::full(), {"t", mq.string().substr(1)});
    EXPECT_EQ(times.metadata.exit_code, 100 + 2) << describe(times);
    struct stat after {};
    ASSERT_EQ(::stat(mq.c_str(), &after), 0);
    if (made) fs::remove(mq / queue);
    ::umount2(mq.c_str(), MNT_DETACH);
    EXPECT_FALSE(made) << "a message queue was created through the link";
    EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec) << "the mqueue root's times were set";
    // Control: the same calls on ordinary files work.
    fs::create_symlink("new-file", sandbox() / "to-new");
    EXPECT_EQ(fs_op(FileSystemPolicy::full(), {"w", (sandbox() / "to-new").string().substr(1)}).metadata.exit_code, 0);
    EXPECT_TRUE(fs::exists(sandbox() / "new-file"));
    auto far = fs_op(FileSystemPolicy::full(), {"w", chain("far", "far-file")});
    EXPECT_EQ(far.metadata.exit_code, 0) << describe(far);
    EXPECT_TRUE(fs::exists(sandbox() / "far-file"));
    EXPECT_EQ(fs_op(FileSystemPolicy::full(), {"t", (sandbox() / "sub").string().substr(1)}).metadata.exit_code, 0);
}

TEST_P(FsPolicyTest, EmptyReadOnlyListMeansSystemDirectories) {
    auto r = fs_op(FileSystemPolicy::read_only(), {"r", "lib/os-release"});  // fd 3 = /usr
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_NE(r.metadata.stdout_data.find("NAME="), std::string::npos);
    EXPECT_EQ(fs_op(FileSystemPolicy::read_only(), {"w", "x"}).metadata.exit_code, kNotCapable);
}

// The attack of the process and gvisor providers, here too: a policy path that is a symlink to
// the host's /proc, /sys, /dev or / (planted earlier by a run with write access) is refused
// before anything is preopened.
TEST_P(FsPolicyTest, PolicyPathsLeadingToKernelInterfacesAreRefused) {
    for (const char* target : {"/proc", "/sys", "/dev", "/"}) {
        const fs::path link = tmp.path() / "planted";
        fs::remove(link);
        fs::create_directory_symlink(target, link);
        for (FileSystemPolicy policy : {FileSystemPolicy::read_only({link.string()}),
                                        FileSystemPolicy::read_write({link.string()})}) {
            auto r = fs_op(policy, {"r", "self/cmdline"});
            EXPECT_EQ(r.status, Status::InvalidInput) << target << ": " << describe(r);
            ASSERT_TRUE(r.error);
            EXPECT_NE(r.error->message.find("fs_policy path '" + link.string() + "'"),
                      std::string::npos)
                << r.error->message;
        }
    }
}

// The attack: rw= over the boot cache, where the stored RTFS guest module and its snapshot live:
// files the host process writes there are root's and would be trusted by later runs.
TEST_P(FsPolicyTest, WritableTrustedStateIsRefused) {
    auto boot = microvm::host::boot_cache_dir();
    ASSERT_TRUE(boot);
    auto r = fs_op(FileSystemPolicy::read_write({*boot}), {"w", "planted"});
    EXPECT_EQ(r.status, Status::InvalidInput) << describe(r);
    ASSERT_TRUE(r.error);
    EXPECT_NE(r.error->message.find("trusted state"), std::string::npos) << r.error->message;
    EXPECT_FALSE(fs::exists(fs::path(*boot) / "planted"));
}

TEST_P(FsPolicyTest, ReadOnlyPathsBesideAWritableOne) {
    FileSystemPolicy both = FileSystemPolicy::read_write({sandbox().string()}, {outside().string()});
    microvm::wasm::FdTable table;
    ASSERT_TRUE(microvm::wasm::add_preopens(table, both));
    ASSERT_NE(table.get(3), nullptr);
    ASSERT_NE(table.get(4), nullptr);
    EXPECT_EQ(table.get(3)->preopen_name, sandbox().string());
    EXPECT_FALSE(table.get(3)->read_only_tree);
    EXPECT_EQ(table.get(4)->preopen_name, outside().string());
    EXPECT_TRUE(table.get(4)->read_only_tree);
    // The writable one (fd 3) takes writes.
    auto r = fs_op(both, {"w", "new.txt"});
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_TRUE(fs::exists(sandbox() / "new.txt"));
}

// A read-only path inside a writable one would be writable through the writable preopen
// ("sub/x" relative to it), where the process provider's read-only bind refuses the write.
// WASI has no such overlay, so the combination is refused up front, naming the setting.
TEST_P(FsPolicyTest, ReadOnlyPathInsideAWritableOneIsRefused) {
    for (const fs::path& ro : {sandbox() / "sub", sandbox()}) {
        FileSystemPolicy nested = FileSystemPolicy::read_write({sandbox().string()}, {ro.string()});
        auto ctx = context(fixture("fs_ops.wat"), {"w", "sub/pwned"});
        ctx.config.fs_policy = nested;
        auto problems = provider.check(ctx);
        ASSERT_EQ(problems.size(), 1u) << ro;
        EXPECT_EQ(problems[0].setting, "fs_policy");
        EXPECT_NE(problems[0].reason.find("lies inside the writable path"), std::string::npos);
        auto r = fs_op(nested, {"w", "sub/pwned"});
        EXPECT_EQ(r.status, Status::PolicyViolation) << describe(r);
        EXPECT_FALSE(fs::exists(sandbox() / "sub" / "pwned")) << ro;
        // Opening the directories (past check()) refuses it too.
        microvm::wasm::FdTable table;
        auto opened = microvm::wasm::add_preopens(table, nested);
        ASSERT_FALSE(opened) << ro;
        EXPECT_NE(opened.error().message.find("provider 'wasm'"), std::string::npos);
    }
    // Siblings and a writable path inside a read-only one stay allowed.
    fs::create_directories(tmp.path() / "outside" / "inner");
    microvm::wasm::FdTable table;
    EXPECT_TRUE(microvm::wasm::add_preopens(
        table, FileSystemPolicy::read_write({(outside() / "inner").string()}, {outside().string()})));
}

// path_filestat_set_times to 1 s after the epoch (atime and mtime), exiting with the errno.
std::vector<uint8_t> set_times_module(const std::string& path, bool follow) {
    const std::string flags = follow ? "1" : "0";  // __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW
    const std::string length = std::to_string(path.size());
    const std::string data = "(data (i32.const 100) \"" + path + "\")";
    return bytes_of(R"((module
  (import "wasi_snapshot_preview1" "path_filestat_set_times"
    (func $set (param i32 i32 i32 i32 i64 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1) )" +
                    data + R"(
  (func (export "_start")
    (call $exit (call $set (i32.const 3) (i32.const )" +
                    flags + ") (i32.const 100) (i32.const " + length +
                    R"() (i64.const 1000000000) (i64.const 1000000000) (i32.const 5))))))");
}

constexpr int kNotCapableErrno = 76;

// Own times of the entry (lstat), or of what it leads to (stat).
time_t mtime_of(const fs::path& p, bool follow) {
    struct stat st {};
    EXPECT_EQ(follow ? ::stat(p.c_str(), &st) : ::lstat(p.c_str(), &st), 0) << p;
    return st.st_mtime;
}

TEST_P(FsPolicyTest, SetTimesReachesAFileWithAndWithoutFollow) {
    for (bool follow : {false, true}) {
        write_file(sandbox() / "times.txt", "x");
        auto ctx = context(set_times_module("times.txt", follow));
        ctx.config.fs_policy = rw();
        auto r = run(ctx);
        ASSERT_EQ(r.status, Status::Ok) << "follow " << follow << ": " << describe(r);
        EXPECT_EQ(mtime_of(sandbox() / "times.txt", false), 1) << "follow " << follow;
    }
}

// Without SYMLINK_FOLLOW the link's own times would need a path, which the engine's seccomp
// filter refuses (Landlock governs no file's times: by path an engine taken over by its module
// set any file's): ENOTSUP, and neither the link nor its target changes (before the filter the
// link got the times; before that the /proc magic link did, reporting success having changed
// nothing). With it, its target inside gets them.
TEST_P(FsPolicyTest, SetTimesWithoutFollowOnASymlinkIsNotSupportedAndChangesNothing) {
    constexpr int kNotsupErrno = 58;  // WASI's ENOTSUP
    auto ctx = context(set_times_module("link_in", false));
    ctx.config.fs_policy = rw();
    auto r = run(ctx);
    EXPECT_EQ(r.metadata.exit_code, kNotsupErrno) << describe(r);
    EXPECT_NE(mtime_of(sandbox() / "link_in", false), 1);
    EXPECT_NE(mtime_of(sandbox() / "data.txt", false), 1);

    ctx = context(set_times_module("link_in", true));
    ctx.config.fs_policy = rw();
    r = run(ctx);
    ASSERT_EQ(r.status, Status::Ok) << describe(r);
    EXPECT_EQ(mtime_of(sandbox() / "data.txt", false), 1);
}

// With the host's descriptors used up, the check of a name's own file system was skipped (its
// O_PATH open failed with EMFILE, and the times were set anyway): a module that opened files
// until EMFILE and closed one set the times of /proc itself (red team, 2026-12-05). Here the
// root of an mqueue file system mounted directly in /tmp (no policy path may hold one), under a
// limit of 64 descriptors so that the module reaches it. Its parent is one component below the
// preopen (/), so either resolver opens one descriptor for it (the component walk holds one per
// level while it walks), the module's one freed descriptor goes to that, and the entry's own
// open is the one that meets EMFILE. The module fills the table opening "tmp", one descriptor
// each time in either resolver.
// An mqueue file system on a new directory directly in /tmp (mkdtemp: no name planted ahead),
// unmounted and removed however the test ends. It is the instance of an ipc namespace of its own
// (this thread's, for the test's length): the host's instance is shared with every other test
// running at the same time (this one's twin under the other resolver, and /dev/mqueue), whose
// queues and cleanup set its root's times while this test reads them.
struct MountedMqueue {
    std::string path;
    bool mounted = false;
    int host_ipc = -1;
    MountedMqueue() {
        char tmpl[] = "/tmp/microvm-test-wasm-set-times-mq-XXXXXX";  // "microvm-": other tests' mount checks skip it
        if (::mkdtemp(tmpl)) path = tmpl;
        host_ipc = ::open("/proc/thread-self/ns/ipc", O_RDONLY | O_CLOEXEC);
        mounted = !path.empty() && host_ipc >= 0 && ::unshare(CLONE_NEWIPC) == 0 &&
                  ::mount("none", path.c_str(), "mqueue", 0, nullptr) == 0;
    }
    ~MountedMqueue() {
        if (mounted) ::umount2(path.c_str(), MNT_DETACH);
        if (!path.empty()) ::rmdir(path.c_str());
        if (host_ipc >= 0) {
            ::setns(host_ipc, CLONE_NEWIPC);
            ::close(host_ipc);
        }
    }
};

constexpr int kMfileErrno = 33;      // WASI's EMFILE
constexpr int kNothingOpened = 201;  // the module's own: its table never filled

TEST_P(FsPolicyTest, SetTimesIsRefusedWhenTheHostsDescriptorsRunOut) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "mounting an mqueue file system needs root");
    MountedMqueue mq;
    ASSERT_TRUE(mq.mounted) << mq.path << ": " << std::strerror(errno);
    const std::string filler = "tmp";
    const std::string target = mq.path.substr(1);
    const std::string wat = R"((module
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_filestat_set_times"
    (func $set (param i32 i32 i32 i32 i64 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) ")" + filler + R"(")
  (data (i32.const 1000) ")" + target + R"(")
  (func (export "_start") (local $last i32)
    (block $full
      (loop $more
        (br_if $full (call $open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const )" +
                            std::to_string(filler.size()) + R"()
                               (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 16)))
        (local.set $last (i32.load (i32.const 16)))
        (br $more)))
    (if (i32.eqz (local.get $last)) (then (call $exit (i32.const )" + std::to_string(kNothingOpened) + R"())))
    (drop (call $close (local.get $last)))
    (call $exit (call $set (i32.const 3) (i32.const 0) (i32.const 1000) (i32.const )" +
                            std::to_string(target.size()) + R"()
                          (i64.const 1000000000) (i64.const 1000000000) (i32.const 5))))))";
    const timespec known[2] = {{12345, 0}, {12345, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, mq.path.c_str(), known, 0), 0) << std::strerror(errno);
    rlimit saved {};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
    rlimit low = saved;
    low.rlim_cur = 64;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
    auto ctx = context(bytes_of(wat));
    ctx.config.fs_policy = FileSystemPolicy::full();
    auto r = run(ctx);
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
    struct stat after {};
    ASSERT_EQ(::stat(mq.path.c_str(), &after), 0);
    EXPECT_EQ(r.metadata.exit_code, kMfileErrno) << describe(r);  // refused for EMFILE, nothing else
    EXPECT_EQ(after.st_mtim.tv_sec, 12345) << "the mqueue root's times were set";
}

// How many directories a module opens (reading each with fd_readdir when `read` is set) before
// the host's descriptors run out: its exit code.
std::string open_directories_module(bool read) {
    const std::string readdir_step =
        read ? "(br_if $full (call $readdir (i32.load (i32.const 16)) (i32.const 200) (i32.const 1024) "
               "(i64.const 0) (i32.const 24)))"
             : "";
    return R"((module
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_readdir"
    (func $readdir (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) ".")
  (func (export "_start") (local $opened i32)
    (block $full
      (loop $more
        (br_if $full (call $open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 1)
                               (i32.const 2) (i64.const 0x4000) (i64.const 0) (i32.const 0) (i32.const 16)))
        )" + readdir_step + R"(
        (local.set $opened (i32.add (local.get $opened) (i32.const 1)))
        (br $more)))
    (call $exit (local.get $opened))))
)";
}

// fd_readdir read through a DIR stream of its own, which held a second host descriptor for each
// directory read (two for each of the 1024 a run may open): under the same descriptor limit, a
// module that reads every directory it opens opened half as many.
TEST_P(FsPolicyTest, ReadingADirectoryHoldsNoSecondHostDescriptor) {
    rlimit saved {};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
    rlimit low = saved;
    low.rlim_cur = 64;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
    int opened[2] = {0, 0};
    for (bool read : {false, true}) {
        auto ctx = context(bytes_of(open_directories_module(read)));
        ctx.config.fs_policy = rw();
        opened[read] = run(ctx).metadata.exit_code.value_or(-1);
    }
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
    ASSERT_GT(opened[false], 10) << "the module opened too few directories to compare";
    EXPECT_GE(opened[true], opened[false] - 1) << "directories opened and read: " << opened[true]
                                               << ", opened only: " << opened[false];
}

TEST_P(FsPolicyTest, SetTimesStaysInsideThePreopen) {
    for (const char* path :
         {"link_out_abs", "link_out_rel", "../outside/secret.txt", "dir_link_out/secret.txt"}) {
        for (bool follow : {false, true}) {
            auto ctx = context(set_times_module(path, follow));
            ctx.config.fs_policy = rw();
            auto r = run(ctx);
            const bool own_link = !follow && std::string(path).rfind("link_out_", 0) == 0;
            if (own_link) {
                // The symlink inside is the entry named: its own times, which would need a path
                // (ENOTSUP); nothing outside either way.
                EXPECT_EQ(r.metadata.exit_code, 58) << path << ": " << describe(r);
                EXPECT_NE(mtime_of(sandbox() / path, false), 1) << path;
            } else {
                EXPECT_EQ(r.metadata.exit_code, kNotCapableErrno)
                    << path << " follow " << follow << ": " << describe(r);
            }
            EXPECT_NE(mtime_of(outside() / "secret.txt", false), 1) << path << " " << follow;
            EXPECT_NE(mtime_of(outside(), false), 1) << path << " " << follow;
        }
    }
}

// A path as long as linear memory (red team, 2026-12-04): the component walk (where openat2 is
// missing) held one string per component, gigabytes of the host's memory for a path of "a/a/...".
// Refused as the kernel refuses it, before anything is copied.
TEST_P(FsPolicyTest, APathLongerThanTheKernelTakesIsRefusedBeforeItIsCopied) {
    auto ctx = context(bytes_of(R"((module
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 64)
  (func (export "_start") (local $i i32)
    ;; "a/a/a/..." over 4 MiB from address 1024
    (loop $fill
      (i32.store16 (i32.add (i32.const 1024) (local.get $i)) (i32.const 0x2f61))
      (local.set $i (i32.add (local.get $i) (i32.const 2)))
      (br_if $fill (i32.lt_u (local.get $i) (i32.const 4190000))))
    (call $exit (call $open (i32.const 3) (i32.const 1) (i32.const 1024) (i32.const 4189999) (i32.const 0)
                           (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 16)))))
)"));
    ctx.config.fs_policy = rw();
    auto r = run(ctx);
    constexpr int kNameTooLong = 37;
    EXPECT_EQ(r.metadata.exit_code, kNameTooLong) << describe(r);
}

INSTANTIATE_TEST_SUITE_P(Resolvers, FsPolicyTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "ComponentWalk" : "Openat2"; });

TEST_F(WasmTest, PolicyPathsMustBeExistingDirectories) {
    TempDir tmp;
    write_file(tmp.path() / "file.txt", "x");
    for (const auto& path : {tmp.path() / "missing", tmp.path() / "file.txt"}) {
        auto ctx = context(fixture("hello.wat"));
        ctx.config.fs_policy = FileSystemPolicy::read_only({path.string()});
        auto r = run(ctx);
        EXPECT_EQ(r.status, Status::PolicyViolation) << describe(r);
        ASSERT_TRUE(r.error);
        EXPECT_NE(r.error->message.find("fs_policy"), std::string::npos) << r.error->message;
    }
}

}  // namespace
}  // namespace wasmtest
