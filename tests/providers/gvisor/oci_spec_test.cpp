// Units of the gvisor provider that need no sandbox: the generated OCI config, the mounts derived
// from each fs policy, names and the sweeping of stale state, file-tree removal, child processes.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <filesystem>
#include <fstream>

#include "gvisor/bundle.hpp"
#include "host/child_process.hpp"
#include "gvisor/fs_tree.hpp"
#include "gvisor/oci_mounts.hpp"
#include "gvisor/oci_spec.hpp"
#include "gvisor/runsc.hpp"
#include "gvisor/runtime.hpp"
#include "gvisor/state_dir.hpp"
#include "host/program_files.hpp"
#include "host/rootfs.hpp"
#include "host/seccomp_policy.hpp"
#include "support/expectations.hpp"

namespace microvm::gvisor {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

class TempDir {
  public:
    TempDir() {
        char tmpl[] = "/tmp/microvm-test-gvisor-unit-XXXXXX";  // "microvm-": other tests' mount checks skip it
        path_ = ::mkdtemp(tmpl);
    }
    ~TempDir() { fs::remove_all(path_); }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

OciFilesystem filesystem_for(const FileSystemPolicy& policy, const std::string& program,
                             std::optional<std::string> result_dir = std::nullopt) {
    host::RootfsRequest request;
    request.policy = policy;
    if (policy.kind != FileSystemPolicy::Kind::Full) {
        auto files = host::program_files(program);
        EXPECT_TRUE(files);
        request.program_files = *files;
    }
    auto plan = host::plan_rootfs(request);
    EXPECT_TRUE(plan) << plan.error().message;
    auto fs = oci_filesystem(*plan, "/bundle/rootfs", result_dir);
    EXPECT_TRUE(fs) << fs.error().message;
    return *fs;
}

const OciMount* mount_at(const OciFilesystem& fs, const std::string& destination) {
    for (const OciMount& m : fs.mounts) {
        if (m.destination == destination) return &m;
    }
    return nullptr;
}

bool has_option(const OciMount& m, const std::string& option) {
    return std::find(m.options.begin(), m.options.end(), option) != m.options.end();
}

ContainerSpec sample_spec() {
    ContainerSpec s;
    s.argv = {"/bin/echo", "hi"};
    s.env = {"PATH=/usr/bin:/bin", "FOO=bar"};
    s.filesystem = filesystem_for(FileSystemPolicy::none(), "/bin/echo");
    s.memory_bytes = 64ull << 20;
    s.cpu_fraction = 0.25;
    s.host_tasks = host_task_budget(16);
    s.max_processes = 16;
    s.max_open_files = 100;
    s.max_file_size_bytes = 1 << 20;
    return s;
}

// --- config.json -------------------------------------------------------------------------------

TEST(OciConfigTest, TheProcessIsUnprivilegedWithExactlyTheGivenEnvironment) {
    json c = oci_config(sample_spec());
    const json& p = c["process"];
    EXPECT_EQ(p["args"], json({"/bin/echo", "hi"}));
    EXPECT_EQ(p["env"], json({"PATH=/usr/bin:/bin", "FOO=bar"}));
    EXPECT_EQ(p["user"]["uid"], 65534);
    EXPECT_EQ(p["user"]["gid"], 65534);
    for (const char* set : {"bounding", "effective", "inheritable", "permitted", "ambient"}) {
        EXPECT_TRUE(p["capabilities"][set].empty()) << set;
    }
    EXPECT_EQ(p["noNewPrivileges"], true);
    EXPECT_EQ(c["root"]["readonly"], true);
    EXPECT_EQ(c["root"]["path"], "/bundle/rootfs");
}

TEST(OciConfigTest, RlimitsAndResourcesFollowTheLimits) {
    json c = oci_config(sample_spec());
    std::map<std::string, uint64_t> rlimits;
    for (const json& r : c["process"]["rlimits"]) {
        EXPECT_EQ(r["soft"], r["hard"]);
        rlimits[r["type"]] = r["hard"];
    }
    EXPECT_EQ(rlimits["RLIMIT_NOFILE"], 100u);
    EXPECT_EQ(rlimits["RLIMIT_CORE"], 1u);  // host/rlimits.hpp: 0 lets a core_pattern pipe run
    EXPECT_EQ(rlimits["RLIMIT_FSIZE"], 1u << 20);
    EXPECT_EQ(rlimits["RLIMIT_NPROC"], 16u);  // the program's processes, counted by the sentry
    const json& res = c["linux"]["resources"];
    EXPECT_EQ(res["memory"]["limit"], 64u << 20);
    EXPECT_EQ(res["cpu"]["quota"], 25000);
    EXPECT_EQ(res["cpu"]["period"], 100000);
    EXPECT_EQ(res["pids"]["limit"], host_task_budget(16));
    EXPECT_GT(host_task_budget(16), 16u);
}

TEST(OciConfigTest, OnlyADeniedNetworkGetsItsOwnNamespace) {
    auto has_net = [](const json& c) {
        for (const json& ns : c["linux"]["namespaces"]) {
            if (ns["type"] == "network") return true;
        }
        return false;
    };
    ContainerSpec s = sample_spec();
    EXPECT_TRUE(has_net(oci_config(s)));
    s.network_namespace = false;
    EXPECT_FALSE(has_net(oci_config(s)));
    // --network=host from runsc's own namespace: the sandbox joins the host's by its path.
    s.host_network_namespace = "/proc/1234/ns/net";
    const json joined = oci_config(s)["linux"]["namespaces"];
    EXPECT_NE(std::find(joined.begin(), joined.end(), json{{"type", "network"}, {"path", "/proc/1234/ns/net"}}),
              joined.end())
        << joined.dump();
}

TEST(OciConfigTest, SeccompAllowsOnlyWhatTheProcessProviderAllows) {
    json seccomp = oci_config(sample_spec())["linux"]["seccomp"];
    EXPECT_EQ(seccomp["defaultAction"], "SCMP_ACT_ERRNO");  // default deny
    std::set<std::string> plain, conditional;
    for (const json& rule : seccomp["syscalls"]) {
        EXPECT_EQ(rule["action"], "SCMP_ACT_ALLOW");  // no overlapping actions to order
        for (const json& name : rule["names"]) {
            (rule.contains("args") ? conditional : plain).insert(name.get<std::string>());
        }
    }
    for (std::string_view name : host::seccomp_policy::allowed_syscalls()) {
        EXPECT_TRUE(plain.count(std::string(name)) || conditional.count(std::string(name)))
            << name;
    }
    for (const auto& denial : host::seccomp_policy::reviewed_denials()) {
        if (denial.name == "clone3") continue;  // left to gVisor, which answers ENOSYS itself
        EXPECT_FALSE(plain.count(std::string(denial.name)) ||
                     conditional.count(std::string(denial.name)))
            << denial.name;
    }
    for (const char* name : {"clone", "personality", "socket", "mknod", "mknodat", "prlimit64", "renameat2"}) {
        EXPECT_TRUE(conditional.count(name)) << name;
        EXPECT_FALSE(plain.count(name)) << name;
    }
    // mknod: each rule allows one file type without S_ISUID and S_ISGID, never a device's (red
    // team, 2026-12-07: a 0:0 character device planted in an rw= directory); prlimit64: a
    // process's own limits (pid 0) or reading another's (no new limits).
    std::set<uint64_t> node_types;
    std::vector<std::pair<uint64_t, uint64_t>> prlimit_args;
    for (const json& rule : seccomp["syscalls"]) {
        const std::string name = rule["names"][0];
        if (name == "mknod" || name == "mknodat") {
            ASSERT_EQ(rule["args"].size(), 1u);
            const json& arg = rule["args"][0];
            EXPECT_EQ(arg["op"], "SCMP_CMP_MASKED_EQ");
            EXPECT_EQ(arg["index"], name == "mknod" ? 1 : 2);
            EXPECT_EQ(arg["value"].get<uint64_t>(), 0176000u) << "S_IFMT, S_ISUID and S_ISGID";
            node_types.insert(arg["valueTwo"].get<uint64_t>());
        }
        if (name == "prlimit64") {
            ASSERT_EQ(rule["args"].size(), 1u);
            EXPECT_EQ(rule["args"][0]["op"], "SCMP_CMP_EQ");
            prlimit_args.emplace_back(rule["args"][0]["index"].get<uint64_t>(), rule["args"][0]["value"].get<uint64_t>());
        }
    }
    EXPECT_EQ(node_types.size(), 14u);
    EXPECT_TRUE(node_types.count(0) && node_types.count(S_IFREG) && node_types.count(S_IFIFO) && node_types.count(S_IFSOCK));
    EXPECT_FALSE(node_types.count(S_IFCHR) || node_types.count(S_IFBLK));
    EXPECT_EQ(prlimit_args, (std::vector<std::pair<uint64_t, uint64_t>>{{0, 0}, {2, 0}}));

    ContainerSpec unfiltered = sample_spec();
    unfiltered.seccomp_filter = false;
    EXPECT_FALSE(oci_config(unfiltered)["linux"].contains("seccomp"));
}

// --- mounts ------------------------------------------------------------------------------------

TEST(OciMountsTest, FsNoneBindsOnlyTheProgramAndItsLibrariesReadOnly) {
    OciFilesystem fs = filesystem_for(FileSystemPolicy::none(), "/bin/echo");
    EXPECT_EQ(fs.root_path, "/bundle/rootfs");
    EXPECT_TRUE(fs.root_symlinks.empty());
    ASSERT_NE(mount_at(fs, "/bin/echo"), nullptr);
    for (const OciMount& m : fs.mounts) {
        EXPECT_FALSE(m.destination.starts_with("/dev")) << m.destination;  // gVisor's own /dev
        if (m.type == "bind") {
            EXPECT_TRUE(has_option(m, "ro")) << m.destination;
        }
    }
    const OciMount* proc = mount_at(fs, "/proc");
    ASSERT_NE(proc, nullptr);
    EXPECT_EQ(proc->type, "proc");
    const OciMount* tmp = mount_at(fs, "/tmp");
    ASSERT_NE(tmp, nullptr);
    EXPECT_EQ(tmp->type, "tmpfs");
    EXPECT_TRUE(std::any_of(tmp->options.begin(), tmp->options.end(),
                            [](const std::string& o) { return o.starts_with("size="); }));
    EXPECT_EQ(fs.cwd, "/tmp");
}

TEST(OciMountsTest, ReadWritePathsAreBoundWritable) {
    TempDir dir;
    OciFilesystem fs = filesystem_for(FileSystemPolicy::read_write({dir.path()}), "/bin/echo");
    const OciMount* m = mount_at(fs, dir.path());
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->source, fs::canonical(dir.path()).string());
    EXPECT_TRUE(has_option(*m, "rw"));
    EXPECT_TRUE(has_option(*m, "rbind"));
}

// Full with the host's memory file systems judged (host/full_memory_mounts.hpp): a private one
// is a tmpfs of the sentry's, a read-only one a read-only bind of itself, none lands in gVisor's
// own /dev or /sys (a bind of the host's /dev would be its devices), and a read-only root makes
// the top-level binds on the root's own file system read-only.
TEST(OciMountsTest, FsFullMapsTheHostsMemoryFileSystems) {
    host::RootfsRequest request;
    request.policy = FileSystemPolicy::full();
    auto plan = host::plan_rootfs(request);
    ASSERT_TRUE(plan) << plan.error().message;
    const auto add = [&](host::Mount::Kind kind, const std::string& target) {
        host::Mount m{kind, kind == host::Mount::Kind::Tmpfs ? "tmpfs" : target, target};
        m.writable = kind == host::Mount::Kind::Tmpfs;
        m.size_bytes = 1u << 20;
        struct stat st {};
        ::lstat(target.c_str(), &st);
        m.identity = {st.st_dev, st.st_ino};
        plan->mounts.push_back(m);
    };
    add(host::Mount::Kind::HostReadOnly, "/");
    add(host::Mount::Kind::HostReadOnly, "/dev");
    add(host::Mount::Kind::Tmpfs, "/sys/fs/cgroup");
    add(host::Mount::Kind::Tmpfs, "/tmp");
    add(host::Mount::Kind::HostReadOnly, "/etc");
    auto fs = oci_filesystem(*plan, "/bundle/rootfs", std::nullopt);
    ASSERT_TRUE(fs) << fs.error().message;
    EXPECT_EQ(mount_at(*fs, "/"), nullptr);
    EXPECT_TRUE(!mount_at(*fs, "/dev") || mount_at(*fs, "/dev")->type != "bind");
    EXPECT_EQ(mount_at(*fs, "/sys/fs/cgroup"), nullptr);
    ASSERT_NE(mount_at(*fs, "/tmp"), nullptr);
    EXPECT_EQ(mount_at(*fs, "/tmp")->type, "tmpfs");
    ASSERT_NE(mount_at(*fs, "/etc"), nullptr);
    EXPECT_EQ(mount_at(*fs, "/etc")->source, "/etc");
    EXPECT_TRUE(has_option(*mount_at(*fs, "/etc"), "ro"));
    struct stat root {}, usr {};
    ASSERT_EQ(::lstat("/", &root), 0);
    if (::lstat("/usr", &usr) == 0 && S_ISDIR(usr.st_mode)) {
        ASSERT_NE(mount_at(*fs, "/usr"), nullptr);
        EXPECT_TRUE(has_option(*mount_at(*fs, "/usr"), usr.st_dev == root.st_dev ? "ro" : "rw"));
    }
}

TEST(OciMountsTest, FsFullMirrorsTheHostsTopLevel) {
    for (FileSystemPolicy policy : {FileSystemPolicy::full()}) {
        OciFilesystem fs = filesystem_for(policy, "/bin/echo");
        bool writable = policy.kind == FileSystemPolicy::Kind::Full;
        EXPECT_EQ(fs.root_path, "/bundle/rootfs");  // never a host tree: runsc adds mount points
        EXPECT_EQ(mount_at(fs, "/"), nullptr);
        for (const char* own : {"/proc", "/dev", "/sys"}) {
            const OciMount* m = mount_at(fs, own);
            EXPECT_TRUE(!m || m->type != "bind") << own;
        }
        for (const auto& entry : fs::directory_iterator("/")) {
            std::string path = entry.path().string();
            if (path == "/proc" || path == "/dev" || path == "/sys") continue;
            if (entry.is_symlink()) {
                std::string name = entry.path().filename();
                EXPECT_TRUE(std::any_of(fs.root_symlinks.begin(), fs.root_symlinks.end(),
                                        [&](const auto& l) { return l.first == name; }))
                    << path;
            } else if (entry.is_directory() && !(path == "/tmp" && !writable)) {
                const OciMount* m = mount_at(fs, path);
                ASSERT_NE(m, nullptr) << path;
                EXPECT_TRUE(has_option(*m, writable ? "rw" : "ro")) << path;
            }
        }
        if (!writable) {
            ASSERT_NE(mount_at(fs, "/tmp"), nullptr);  // ro=/ keeps a private /tmp
            EXPECT_EQ(mount_at(fs, "/tmp")->type, "tmpfs");
        }
    }
}

TEST(OciMountsTest, TheGuestResultDirIsBoundWritable) {
    TempDir result;
    OciFilesystem fs = filesystem_for(FileSystemPolicy::none(), "/bin/echo", result.path());
    const OciMount* m = mount_at(fs, kGuestResultDir);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->source, result.path());
    EXPECT_TRUE(has_option(*m, "rw"));
}

host::FileIdentity lstat_identity(const std::string& path) {
    struct stat st;
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return {st.st_dev, st.st_ino};
}

// Every bind carries the identity of its source (policy paths, program files, the result
// directory, fs full's top-level entries), and a source replaced since is seen: renamed over,
// or a directory swapped for a symlink to another one.
TEST(OciMountsTest, EveryBindRecordsItsSourceAndAReplacedSourceIsSeen) {
    TempDir dir;
    const std::string file = dir.path() + "/file";
    const std::string data = dir.path() + "/data";
    std::ofstream(file) << "old\n";
    fs::create_directory(data);
    OciFilesystem made = filesystem_for(FileSystemPolicy::read_only({file, data}), "/bin/echo",
                                        dir.path());
    size_t binds = 0;
    for (const OciMount& m : made.mounts) {
        if (m.type != "bind") continue;
        ++binds;
        EXPECT_EQ(m.source_identity, lstat_identity(m.source)) << m.source;
    }
    EXPECT_GE(binds, 4u);  // file, data, the result directory, /bin/echo (and its libraries)
    EXPECT_TRUE(bind_sources_unchanged(made.mounts));

    std::ofstream(file + ".new") << "new\n";
    fs::rename(file + ".new", file);  // how updates replace files
    EXPECT_FALSE(bind_sources_unchanged(made.mounts));

    made = filesystem_for(FileSystemPolicy::read_only({file, data}), "/bin/echo", dir.path());
    EXPECT_TRUE(bind_sources_unchanged(made.mounts));
    fs::rename(data, data + ".old");
    fs::create_directory_symlink(data + ".old", data);  // the same directory, through a symlink
    EXPECT_FALSE(bind_sources_unchanged(made.mounts));

    for (const OciMount& m : filesystem_for(FileSystemPolicy::full(), "/bin/echo").mounts) {
        if (m.type == "bind") {
            EXPECT_EQ(m.source_identity, lstat_identity(m.source)) << m.source;
        }
    }
    auto launcher = file_bind("/bin/true", "/.launcher");
    ASSERT_TRUE(launcher) << launcher.error().message;
    EXPECT_EQ(launcher->source_identity, lstat_identity("/bin/true"));
    EXPECT_TRUE(has_option(*launcher, "ro"));
    EXPECT_FALSE(file_bind(dir.path() + "/missing", "/.launcher"));
}

// --- names, state, cleanup -----------------------------------------------------------------------

TEST(StateDirTest, NamesCarryTheOwner) {
    TempDir base;
    auto made = StateDir::create(base.path());
    ASSERT_TRUE(made) << made.error().message;
    const std::string name = fs::path((*made)->path()).filename();
    EXPECT_TRUE(name.starts_with("microvm-gvisor-" + std::to_string(::getpid()) + ".")) << name;
    EXPECT_EQ(sweep_stale_state_dirs(base.path()), 0u) << "a live owner's directory stays";
}

TEST(StateDirTest, OnlyDirectoriesOfDeadOwnersAreSwept) {
    TempDir base;
    pid_t dead = ::fork();
    if (dead == 0) ::_exit(0);
    ::waitpid(dead, nullptr, 0);
    const std::string stale = base.path() + "/microvm-gvisor-" + std::to_string(dead) + "-0";
    const std::string live = base.path() + "/microvm-gvisor-" + std::to_string(::getppid()) + "-0";
    const std::string other = base.path() + "/unrelated";
    for (const std::string& d : {stale, live, other}) fs::create_directories(d + "/state");
    EXPECT_EQ(sweep_stale_state_dirs(base.path()), 1u);
    EXPECT_FALSE(fs::exists(stale));
    EXPECT_TRUE(fs::exists(live));
    EXPECT_TRUE(fs::exists(other));
}

TEST(StateDirTest, ItsDirectoryLivesAsLongAsTheObject) {
    TempDir base;
    std::string path;
    {
        auto dir = StateDir::create(base.path());
        ASSERT_TRUE(dir) << dir.error().message;
        path = (*dir)->path();
        EXPECT_TRUE(fs::is_directory((*dir)->runsc_root()));
        EXPECT_TRUE(fs::is_directory((*dir)->bundles()));
        std::ofstream((*dir)->runsc_root() + "/c1_sandbox:c1.state") << "{}";
        EXPECT_TRUE((*dir)->has_container_state("c1"));
        (*dir)->remove_container_state("c1");
        EXPECT_FALSE((*dir)->has_container_state("c1"));
    }
    EXPECT_FALSE(fs::exists(path));
}

// A mount below the tree is detached, never emptied: its files stay (seen here through a
// descriptor of its root held across the removal), and then the tree goes.
TEST(FsTreeTest, RemovalNeverEntersAnotherFileSystem) {
    TempDir base;
    const std::string tree = base.path() + "/tree", mnt = tree + "/mnt";
    fs::create_directories(mnt);
    std::ofstream(tree + "/file") << "x";
    ASSERT_EQ(::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=1m"), 0) << "needs root";
    std::ofstream(mnt + "/precious") << "keep";
    const int held = ::open(mnt.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(held, 0);
    EXPECT_TRUE(remove_tree(tree));
    EXPECT_FALSE(fs::exists(tree));
    struct stat st {};
    EXPECT_EQ(::fstatat(held, "precious", &st, 0), 0) << "the mount's files were removed";
    ::close(held);
}

TEST(BundleTest, RunscErrorsAreReadFromItsLogOnly) {
    TempDir base;
    auto bundle = Bundle::create(base.path(), "b", /*result_dir=*/true);
    ASSERT_TRUE(bundle) << bundle.error().message;
    EXPECT_EQ((*bundle)->runsc_errors(), "");
    std::ofstream((*bundle)->log_path())
        << R"({"msg":"starting","level":"info"})"
        << "\n"
        << R"({"msg":"creating container: cannot create sandbox","level":"error"})"
        << "\n";
    EXPECT_EQ((*bundle)->runsc_errors(), "creating container: cannot create sandbox");
    struct stat st {};
    ASSERT_EQ(::stat((*bundle)->result_dir()->c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, kSandboxUid);  // the guest writes its result there
    std::string dir = (*bundle)->dir();
    bundle->reset();
    EXPECT_FALSE(fs::exists(dir));
}

// The attack: the result tmpfs belongs to the sandbox uid, which on the host is a real user
// (nobody); with the bundle's directories traversable (0711, as the state directory's are), any
// host process of that uid opened it and read or forged root's RTFS result while the run lasted.
// Neither it nor runsc's log is within its reach now.
TEST(BundleTest, AHostProcessOfTheSandboxUidCannotReachTheResultOrTheLog) {
    TempDir base;
    ASSERT_EQ(::chmod(base.path().c_str(), 0711), 0);
    auto bundle = Bundle::create(base.path(), "b", /*result_dir=*/true);
    ASSERT_TRUE(bundle) << bundle.error().message;
    const std::string result = *(*bundle)->result_dir() + "/" + kGuestResultFile;
    std::ofstream(result) << "42";
    ASSERT_EQ(::chown(result.c_str(), kSandboxUid, kSandboxGid), 0);
    const std::string log = (*bundle)->log_path();
    const pid_t pid = ::fork();
    if (pid == 0) {
        if (::setgroups(0, nullptr) != 0 || ::setgid(kSandboxGid) != 0 ||
            ::setuid(kSandboxUid) != 0) {
            ::_exit(100);
        }
        int code = 0;
        const int r = ::open(result.c_str(), O_RDWR | O_CLOEXEC);
        if (r >= 0 || errno != EACCES) code |= 1;
        const int l = ::open(log.c_str(), O_RDONLY | O_CLOEXEC);
        if (l >= 0 || errno != EACCES) code |= 2;
        ::_exit(code);
    }
    ASSERT_GT(pid, 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status) & 1, 0) << "the sandbox uid opened the result on the host";
    EXPECT_EQ(WEXITSTATUS(status) & 2, 0) << "the sandbox uid read runsc's log";
    EXPECT_NE(WEXITSTATUS(status), 100) << "could not become the sandbox uid";
}

// The attack: an RTFS program's huge value, written by the guest as its result frame, filled the
// host's disk under /run (287 MB in one run). The result directory is a tmpfs capped at a frame.
TEST(BundleTest, TheResultDirectoryIsACappedTmpfsNotTheHostsDisk) {
    TempDir base;
    auto bundle = Bundle::create(base.path(), "b", /*result_dir=*/true);
    ASSERT_TRUE(bundle) << bundle.error().message;
    const std::string result = *(*bundle)->result_dir();
    struct statfs sfs {};
    ASSERT_EQ(::statfs(result.c_str(), &sfs), 0);
    EXPECT_EQ(static_cast<unsigned long>(sfs.f_type), static_cast<unsigned long>(TMPFS_MAGIC));
    EXPECT_LE(uint64_t(sfs.f_blocks) * sfs.f_bsize, kResultTmpfsBytes);
    // Writing past the cap fails.
    int fd = ::open((result + "/big").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    std::string chunk(1 << 20, 'x');
    uint64_t written = 0;
    int err = 0;
    while (written <= kResultTmpfsBytes + (8u << 20)) {
        ssize_t n = ::write(fd, chunk.data(), chunk.size());
        if (n <= 0) {
            err = errno;
            break;
        }
        written += static_cast<uint64_t>(n);
    }
    ::close(fd);
    EXPECT_EQ(err, ENOSPC);
    EXPECT_LE(written, kResultTmpfsBytes);
    std::string dir = (*bundle)->dir();
    bundle->reset();
    EXPECT_FALSE(fs::exists(dir));  // unmounted, then removed
}

// Where each bind is staged (staged_binds.hpp): in the root at its destination, and gone from
// the spec, only when read-only with no other mount at, above or below it and no symlink of the
// root on its way; every other one in binds/, named by the spec.
// A bundle's parent, and a host directory holding one file, for binds to be staged from.
struct StagingScene {
    TempDir base;
    TempDir sources;
    std::string file = sources.path() + "/file";
    StagingScene() { std::ofstream(file) << "x"; }
    // A bind of source (as the plan records it: its identity now) at destination.
    static OciMount bind(const std::string& source, const std::string& destination, bool writable) {
        struct stat st {};
        EXPECT_EQ(::stat(source.c_str(), &st), 0) << source;
        return OciMount{destination, "bind", source, {}, {st.st_dev, st.st_ino}, S_ISDIR(st.st_mode), writable};
    }
};

TEST(BundleTest, OnlyAReadOnlyBindStandingAloneIsStagedInTheRoot) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "staging binds needs root");
    StagingScene scene;
    const TempDir& base = scene.base;
    const TempDir& sources = scene.sources;
    const std::string& file = scene.file;
    const auto bind = &StagingScene::bind;
    std::vector<OciMount> mounts{
        bind(file, "/opt/tool/file", false),              // alone: in the root
        bind(sources.path(), "/srv/data", false),         // alone (a directory): in the root
        bind(file, "/rw/file", true),                     // writable
        bind(sources.path(), "/nest", false),             // another mount below it
        bind(file, "/nest/file", false),                  // below another mount
        bind(file, "/lib64/file", false),                 // through the root's symlink
        bind(file, "/lib32", false),                      // the root's symlink itself
        {"/run", "tmpfs", "tmpfs", {}, {}, false, false},
        bind(file, "/run/file", false),                   // below the tmpfs
        bind(sources.path(), "/tmp", false),              // where runsc would mount a tmpfs
        bind(file, "/dev/file", false),                   // below gVisor's own /dev
    };
    auto bundle = Bundle::create(base.path(), "b", /*result_dir=*/false);
    ASSERT_TRUE(bundle) << bundle.error().message;
    ASSERT_TRUE((*bundle)->add_root_symlinks({{"lib64", "usr/lib64"}, {"lib32", "usr/lib32"}}));
    auto staged = (*bundle)->stage_binds(mounts);
    ASSERT_TRUE(staged) << staged.error().message;
    std::vector<std::string> spec;
    for (const OciMount& m : mounts) {
        spec.push_back(m.destination);
        if (m.type == "bind") {
            EXPECT_TRUE(m.source.starts_with((*bundle)->dir() + "/binds/")) << m.source;
        }
    }
    EXPECT_EQ(spec, (std::vector<std::string>{"/rw/file", "/nest", "/nest/file", "/lib64/file",
                                              "/lib32", "/run", "/run/file", "/tmp", "/dev/file"}));
    const std::string root = (*bundle)->rootfs();
    std::string text;
    std::ifstream(root + "/opt/tool/file") >> text;
    EXPECT_EQ(text, "x");
    EXPECT_TRUE(fs::exists(root + "/srv/data/file"));
    EXPECT_TRUE(fs::is_symlink(root + "/lib64")) << "a directory was made through the root's symlink";
    EXPECT_EQ(fs::status(root + "/opt").permissions(),
              fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                  fs::perms::others_read | fs::perms::others_exec);
    const std::string dir = (*bundle)->dir();
    bundle->reset();
    EXPECT_FALSE(fs::exists(dir));
    EXPECT_TRUE(fs::exists(file)) << "the bound file went with the bundle";
}

// Destinations are compared as strings, which holds for clean paths only: "/srv/x/../d/f" is
// below "/srv/d" once runsc cleans it, where runsc would make its mount point inside the tree
// staged in the root. With any destination not clean, nothing is staged in the root.
TEST(BundleTest, NothingIsStagedInTheRootBesideADestinationThatIsNotClean) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "staging binds needs root");
    StagingScene scene;
    std::vector<OciMount> mounts{
        StagingScene::bind(scene.sources.path(), "/srv/d", false),
        StagingScene::bind(scene.file, "/srv/x/../d/file", false),
    };
    auto bundle = Bundle::create(scene.base.path(), "b", /*result_dir=*/false);
    ASSERT_TRUE(bundle) << bundle.error().message;
    ASSERT_TRUE((*bundle)->stage_binds(mounts));
    ASSERT_EQ(mounts.size(), 2u) << "a bind was staged in the root";
    EXPECT_FALSE(fs::exists((*bundle)->rootfs() + "/srv"));
    // A space (as a tab, newline or backslash) is escaped in /proc/self/mountinfo, where a
    // staged mount point must be found by its path: that bind stays the spec's too.
    std::vector<OciMount> spaced{StagingScene::bind(scene.file, "/srv/with space", false)};
    auto other = Bundle::create(scene.base.path(), "c", /*result_dir=*/false);
    ASSERT_TRUE(other) << other.error().message;
    ASSERT_TRUE((*other)->stage_binds(spaced));
    EXPECT_EQ(spaced.size(), 1u) << "a destination with a space was staged in the root";
}

// Red team, 2026-12-05: a policy path of ~4060 bytes ran, and left its mount point's directories
// in /run for good: inside the bundle's root their paths exceed PATH_MAX, which the removal and
// the sweep walk by. Such a path is refused before anything is made, naming the limit.
TEST(OciMountsTest, APathTooLongForTheBundlesRootIsRefused) {
    const std::string rootfs = "/run/microvm-gvisor-1.2-3/bundles/microvm-gvisor-1.2-4/rootfs";
    host::RootfsPlan plan;
    host::Mount m;
    m.source = "/srv/d";
    m.target = "/" + std::string(PATH_MAX - 1 - rootfs.size(), 'd');  // one byte too long
    plan.mounts.push_back(m);
    auto refused = oci_filesystem(plan, rootfs, std::nullopt);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind, Failure::Kind::Unsupported);
    EXPECT_NE(refused.error().message.find("too long for the sandbox's root: at most " +
                                           std::to_string(PATH_MAX - 1 - rootfs.size()) + " bytes"),
              std::string::npos)
        << refused.error().message;
    plan.mounts[0].target.pop_back();
    EXPECT_TRUE(oci_filesystem(plan, rootfs, std::nullopt));
}

TEST(StateDirTest, AStaleStateDirectoryHoldingAResultMountIsSwept) {
    TempDir base;
    pid_t dead = ::fork();
    if (dead == 0) ::_exit(0);
    ::waitpid(dead, nullptr, 0);
    const std::string stale = base.path() + "/microvm-gvisor-" + std::to_string(dead) + "-0";
    const std::string mnt = stale + "/bundles/b/private/result";
    fs::create_directories(mnt);
    ASSERT_EQ(::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=1m"), 0) << "needs root";
    EXPECT_EQ(sweep_stale_state_dirs(base.path()), 1u);
    EXPECT_FALSE(fs::exists(stale));
}

// --- child processes
// -------------------------------------------------------------------------------

TEST(RunShort, ExitStatusOutputAndTimeout) {
    auto out = run_short("/bin/sh", {"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, 5s);
    ASSERT_TRUE(out) << out.error().message;
    EXPECT_EQ(out->out, "out\n");
    EXPECT_EQ(out->err, "err\n");
    EXPECT_TRUE(WIFEXITED(out->wait_status));
    EXPECT_EQ(WEXITSTATUS(out->wait_status), 3);

    auto started = std::chrono::steady_clock::now();
    auto slow = run_short("/bin/sleep", {"/bin/sleep", "10"}, 200ms);
    ASSERT_TRUE(slow);
    EXPECT_TRUE(slow->timed_out);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);

}

}  // namespace
}  // namespace microvm::gvisor
