#include "host/rootfs.hpp"

#include "host/boot_cache.hpp"
#include "host/elf_deps.hpp"
#include "host/trusted_state.hpp"

#include <gtest/gtest.h>
#include <pwd.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "planning_support.hpp"
#include "support/scoped_env.hpp"

namespace microvm::host {
namespace {

namespace fs = std::filesystem;

const Mount* find(const RootfsPlan& plan, const std::string& target) {
    for (const Mount& m : plan.mounts) {
        if (m.target == target) return &m;
    }
    return nullptr;
}

RootfsRequest request(FileSystemPolicy policy) {
    RootfsRequest r;
    r.policy = std::move(policy);
    r.program_files = {{"/bin/cat", fs::canonical("/bin/cat")}};
    return r;
}

TEST(Rootfs, NoneHoldsTheProgramDevicesProcAndAPrivateTmp) {
    auto plan = plan_rootfs(request(FileSystemPolicy::none()));
    ASSERT_TRUE(plan) << plan.error().message;
    EXPECT_FALSE(plan->host_root);
    ASSERT_TRUE(find(*plan, "/bin/cat"));
    EXPECT_FALSE(find(*plan, "/bin/cat")->writable);
    ASSERT_TRUE(find(*plan, "/proc"));
    EXPECT_EQ(find(*plan, "/proc")->kind, Mount::Kind::Proc);
    ASSERT_TRUE(find(*plan, "/tmp"));
    EXPECT_EQ(find(*plan, "/tmp")->kind, Mount::Kind::Tmpfs);
    for (const char* dev : {"/dev/null", "/dev/zero", "/dev/urandom"}) {
        ASSERT_TRUE(find(*plan, dev)) << dev;
        EXPECT_TRUE(find(*plan, dev)->devices);
        // Read-only: the host's node cannot be changed (writes to /dev/null still work).
        EXPECT_FALSE(find(*plan, dev)->writable) << dev;
    }
    // Every bind names the object that was checked.
    struct stat st;
    ASSERT_EQ(::stat("/bin/cat", &st), 0);
    EXPECT_EQ(find(*plan, "/bin/cat")->identity, (FileIdentity{st.st_dev, st.st_ino}));
    EXPECT_EQ(plan->workdir, "/tmp");
    EXPECT_FALSE(find(*plan, "/etc"));
    EXPECT_EQ(plan->mounts.size(), 6u);
}

TEST(Rootfs, MountsComeParentsFirst) {
    TempDir dir;
    auto plan = plan_rootfs(request(FileSystemPolicy::read_write({dir.path()})));
    ASSERT_TRUE(plan);
    auto depth = [](const std::string& p) { return std::count(p.begin(), p.end(), '/'); };
    for (size_t i = 1; i < plan->mounts.size(); ++i) {
        EXPECT_LE(depth(plan->mounts[i - 1].target), depth(plan->mounts[i].target));
    }
    const Mount* rw = find(*plan, dir.path());
    ASSERT_TRUE(rw);
    EXPECT_TRUE(rw->writable);
    EXPECT_TRUE(rw->directory);
}

// A read-only path inside a writable one protects its files under their own names only: a hard
// link planted in the writable tree (here by hand; the red team's earlier run given rw=A made it)
// wrote the "read-only" file through the link (red team, 2026-12-06).
FileSystemPolicy read_only_inside(const std::string& writable, const std::string& read_only) {
    FileSystemPolicy p = FileSystemPolicy::read_write({writable});
    p.read_only_paths = {read_only};
    return p;
}

TEST(Rootfs, AReadOnlyPathInsideAWritableOneWithAHardLinkIsRefused) {
    TempDir dir;
    const std::string a = dir.path();
    fs::create_directories(a + "/sub/deeper");
    std::ofstream(a + "/b") << "original";
    std::ofstream(a + "/sub/deeper/secret") << "original";
    // Without links, both are planned: the file and the directory bound read-only over the tree.
    for (const std::string& ro : {a + "/b", a + "/sub"}) {
        auto plan = plan_rootfs(request(read_only_inside(a, ro)));
        ASSERT_TRUE(plan) << plan.error().message;
        ASSERT_TRUE(find(*plan, ro)) << ro;
        EXPECT_FALSE(find(*plan, ro)->writable);
    }
    ASSERT_EQ(::link((a + "/b").c_str(), (a + "/.c").c_str()), 0);
    ASSERT_EQ(::link((a + "/sub/deeper/secret").c_str(), (a + "/.s").c_str()), 0);
    for (const auto& [ro, linked] : {std::pair{a + "/b", a + "/b"}, std::pair{a + "/sub", a + "/sub/deeper/secret"}}) {
        auto plan = plan_rootfs(request(read_only_inside(a, ro)));
        ASSERT_FALSE(plan) << ro;
        EXPECT_EQ(plan.error().kind, Failure::Kind::InvalidInput);
        EXPECT_NE(plan.error().message.find("'" + linked + "' has 2 hard links"), std::string::npos)
            << plan.error().message;
    }
    // Alone (read-only, not inside a writable path) the linked file is no concern.
    EXPECT_TRUE(plan_rootfs(request(FileSystemPolicy::read_only({a + "/b"}))));
}

TEST(Rootfs, AReadOnlyPathInsideAWritableOneTooDeepToLookThroughIsRefused) {
    TempDir dir;
    std::string deep = dir.path() + "/sub";
    for (int i = 0; i < 66; ++i) deep += "/d";
    fs::create_directories(deep);
    auto plan = plan_rootfs(request(read_only_inside(dir.path(), dir.path() + "/sub")));
    ASSERT_FALSE(plan);
    EXPECT_NE(plan.error().message.find("too many to look through for hard links"), std::string::npos)
        << plan.error().message;
}

TEST(Rootfs, EmptyReadOnlyListMeansTheSystemDirectories) {
    auto plan = plan_rootfs(request(FileSystemPolicy::read_only()));
    ASSERT_TRUE(plan);
    for (const std::string& d : microvm::standard_system_dirs()) {
        const Mount* m = find(*plan, d);
        ASSERT_TRUE(m) << d;
        EXPECT_FALSE(m->writable);
        EXPECT_EQ(m->source, fs::canonical(d).string());
    }
    EXPECT_FALSE(find(*plan, "/bin/cat"));  // visible through /bin already
}

TEST(Rootfs, FullIsTheHostTreeWithAFreshProc) {
    auto plan = plan_rootfs(request(FileSystemPolicy::full()));
    ASSERT_TRUE(plan);
    EXPECT_TRUE(plan->host_root);
    ASSERT_EQ(plan->mounts.size(), 1u);
    EXPECT_EQ(plan->mounts[0].kind, Mount::Kind::Proc);
}

TEST(Rootfs, RejectsBadPolicyPaths) {
    for (const char* bad : {"etc", "/etc/../root", "/proc/self", "/sys", "/dev",
                            "/dev/null", "/", "/nonexistent/rootfs-test"}) {
        auto plan = plan_rootfs(request(FileSystemPolicy::read_only({bad})));
        ASSERT_FALSE(plan) << bad;
        EXPECT_EQ(plan.error().kind, Failure::Kind::InvalidInput) << bad;
        EXPECT_NE(plan.error().message.find("fs_policy path"), std::string::npos);
    }
}

// The attack: a run with rw= over the project's trusted state (the boot cache with the stored
// wasm module, the VM image cache) plants files, root's as the directory's, that later runs
// trust. Writable there is refused; readable is not.
TEST(Rootfs, WritableTrustedStateIsRefused) {
    auto boot = microvm::host::boot_cache_dir();
    ASSERT_TRUE(boot);
    std::vector<std::string> writable = {*boot, fs::path(*boot).parent_path().string()};
    if (fs::exists("/var/cache/microvm")) writable.push_back("/var/cache/microvm");
    for (const std::string& path : writable) {
        auto plan = plan_rootfs(request(FileSystemPolicy::read_write({path})));
        ASSERT_FALSE(plan) << path;
        EXPECT_EQ(plan.error().kind, Failure::Kind::InvalidInput) << path;
        EXPECT_NE(plan.error().message.find("trusted state"), std::string::npos) << plan.error().message;
        EXPECT_TRUE(plan_rootfs(request(FileSystemPolicy::read_only({path})))) << path;
    }
    TempDir dir;  // elsewhere, writable as before
    EXPECT_TRUE(plan_rootfs(request(FileSystemPolicy::read_write({dir.path()}))));
}

// The attack (red team, 2026-12-04): a run as root with rw=$HOME wrote
// $HOME/.config/microvm/config.toml (its files belong to the directory's owner) naming a runsc
// of its own, which root's next gvisor run executed. Every place settings are read from, and
// every directory above one, is refused writable.
TEST(Rootfs, WritableSettingsPlacesAreRefused) {
    TempDir home, xdg, named;
    const std::string config_file = named.path() + "/q.toml";
    testsupport::ScopedEnv h("HOME", home.path());
    testsupport::ScopedEnv x("XDG_CONFIG_HOME", xdg.path());
    testsupport::ScopedEnv c("MICROVM_CONFIG", config_file);
    fs::create_directories(home.path() + "/.config/microvm");
    fs::create_directories(xdg.path() + "/microvm");
    for (const std::string& path :
         {home.path(), home.path() + "/.config", home.path() + "/.config/microvm", xdg.path(),
          xdg.path() + "/microvm", named.path(), std::string("/etc")}) {
        auto plan = plan_rootfs(request(FileSystemPolicy::read_write({path})));
        EXPECT_FALSE(plan) << path;
        if (!plan) {
            EXPECT_NE(plan.error().message.find("trusted state"), std::string::npos)
                << plan.error().message;
        }
    }
    fs::create_directories(home.path() + "/work");
    EXPECT_TRUE(plan_rootfs(request(FileSystemPolicy::read_write({home.path() + "/work"}))));
    EXPECT_TRUE(plan_rootfs(request(FileSystemPolicy::read_only({home.path()}))));
}

// The attack (red team, 2026-12-06): with MICROVM_GUEST_IMAGE=img, relative, a sandbox granted
// rw= over the working directory wrote img/manifest.json, which the next qemu run from there
// read: the place a variable names is protected where this process uses it, relative or not.
TEST(Rootfs, RelativeStatePlacesAreProtectedWhereTheyLead) {
    TempDir work;
    const std::filesystem::path before = std::filesystem::current_path();
    std::filesystem::current_path(work.path());
    fs::create_directories(work.path() + "/img");
    fs::create_directories(work.path() + "/other");
    for (const char* var : {"MICROVM_GUEST_IMAGE", "MICROVM_IMAGE_CACHE", "MICROVM_CONFIG"}) {
        testsupport::ScopedEnv e(var, "img");
        for (const std::string& path : {work.path(), work.path() + "/img"}) {
            auto plan = plan_rootfs(request(FileSystemPolicy::read_write({path})));
            EXPECT_FALSE(plan) << var << ": " << path;
        }
        EXPECT_TRUE(plan_rootfs(request(FileSystemPolicy::read_write({work.path() + "/other"})))) << var;
    }
    std::filesystem::current_path(before);
}

// The attacks (red team, 2026-12-04, a user's own runs): with HOME unset, rw= over the home was
// accepted and planted the settings file the user's next run (HOME set) read; and rw=~/.local
// made ~/.local/bin, which the user's next login shell put in $PATH and whose `ls` it ran.
// The password database's home is protected whatever $HOME says, and in every home the program
// directories a login shell adds.
TEST(Rootfs, TheUsersHomeIsProtectedWhateverHomeSays) {
    struct passwd* me = ::getpwuid(::geteuid());
    ASSERT_TRUE(me && me->pw_dir && me->pw_dir[0] == '/');
    {
        testsupport::ScopedEnv h("HOME", std::nullopt);
        testsupport::ScopedEnv x("XDG_CONFIG_HOME", std::nullopt);
        testsupport::ScopedEnv p("PATH", "/usr/bin:/bin");  // none below the home
        if (fs::is_directory(me->pw_dir)) {
            EXPECT_FALSE(plan_rootfs(request(FileSystemPolicy::read_write({me->pw_dir})))) << me->pw_dir;
        }
    }
    TempDir home;
    testsupport::ScopedEnv h("HOME", home.path());
    fs::create_directories(home.path() + "/.local/share");
    fs::create_directories(home.path() + "/bin");
    for (const std::string& path : {home.path() + "/.local", home.path() + "/bin"}) {
        auto plan = plan_rootfs(request(FileSystemPolicy::read_write({path})));
        EXPECT_FALSE(plan) << path;
        if (!plan) {
            EXPECT_NE(plan.error().message.find("trusted state"), std::string::npos) << plan.error().message;
        }
    }
    EXPECT_TRUE(plan_rootfs(request(FileSystemPolicy::read_write({home.path() + "/.local/share"}))));
}

// The attack (red team, 2026-12-03): a run with rw= over a user's runtime directory planted a
// seccomp record allowing everything in /run/user/<uid>/microvm, and that user's later runs had
// no seccomp. The planting run's $XDG_RUNTIME_DIR was unset (or root's run was handed another
// user's directory), so the directory was not the boot cache dir of *that* process. Every user's
// and every provider's state is refused, whatever the environment says.
TEST(Rootfs, EveryUsersAndProvidersStateIsRefusedWhateverTheEnvironment) {
    const char* saved = std::getenv("XDG_RUNTIME_DIR");
    const std::string saved_xdg = saved ? saved : "";
    ::unsetenv("XDG_RUNTIME_DIR");
    const std::string user_dir = "/run/user/" + std::to_string(40000 + ::getpid() % 20000);
    const std::string provider_dir = "/run/microvm-test-" + std::to_string(::getpid());
    const bool had_run_user = fs::exists("/run/user");
    fs::create_directories(user_dir + "/microvm");
    fs::create_directories(provider_dir + "/sub");
    TempDir configured;
    fs::create_directories(configured.path() + "/templates/x");
    microvm::host::protect_configured_state(
        {{"qemu", {{"template_dir", configured.path() + "/templates"}, {"cpus", 2}}}});
    for (const std::string& path :
         {user_dir, user_dir + "/microvm", std::string("/run/user"), provider_dir,
          provider_dir + "/sub", configured.path(), configured.path() + "/templates",
          configured.path() + "/templates/x"}) {
        auto plan = plan_rootfs(request(FileSystemPolicy::read_write({path})));
        EXPECT_FALSE(plan) << path;
        if (!plan) {
            EXPECT_EQ(plan.error().kind, Failure::Kind::InvalidInput) << path;
            EXPECT_NE(plan.error().message.find("trusted state"), std::string::npos)
                << plan.error().message;
        }
        EXPECT_TRUE(plan_rootfs(request(FileSystemPolicy::read_only({path})))) << path;
    }
    fs::remove_all(user_dir);
    fs::remove_all(provider_dir);
    if (!had_run_user) fs::remove("/run/user");
    if (!saved_xdg.empty()) ::setenv("XDG_RUNTIME_DIR", saved_xdg.c_str(), 1);
}

// The attack (red team, 2026-12-03): /run bound elsewhere (an old /var/run bind, /host/run in
// a container) reaches the boot records under another name, and the names alone did not tell.
// Judged by identity too: another mount of a trusted directory, or of one holding it, is
// refused as the directory itself.
TEST(Rootfs, AnotherMountOfTrustedStateIsRefusedAsTheStateItself) {
    ASSERT_TRUE(microvm::host::boot_cache_dir());  // root's /run/microvm exists
    TempDir dir;
    const std::string alias = dir.path() + "/alias";
    fs::create_directories(alias);
    const pid_t child = ::fork();
    if (child == 0) {
        if (::unshare(CLONE_NEWNS) != 0 ||
            ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
            ::mount("/run", alias.c_str(), nullptr, MS_BIND, nullptr) != 0) {
            ::_exit(100);
        }
        int refused = 0;
        for (const std::string& path : {alias + "/microvm", alias}) {
            auto plan = plan_rootfs(request(FileSystemPolicy::read_write({path})));
            if (!plan && plan.error().message.find("trusted state") != std::string::npos) ++refused;
        }
        // Read-only stays allowed.
        const bool readable = static_cast<bool>(plan_rootfs(request(FileSystemPolicy::read_only({alias}))));
        ::_exit(refused == 2 && readable ? 0 : 10 + refused);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "100: no mount namespace; 10 + n: n of 2 refused";
}

// The attack (red team, 2026-12-04): a bind of trusted state (the image cache here) mounted
// inside a directory granted rw= was written through it: binds are recursive, and the checks
// looked only at the granted path and the directories above it. A mount below the path of the
// state itself, of a directory inside it or of one holding it is refused; other mounts are not.
TEST(Rootfs, TrustedStateMountedBelowAWritablePathIsRefused) {
    TempDir dir;
    const std::string cache = dir.path() + "/cache", outer = dir.path() + "/outer";
    const std::string other = dir.path() + "/other";
    for (const std::string& d : {cache + "/sub", cache + "/sub/deeper", outer + "/m", outer + "/s", outer + "/h",
                                 outer + "/o", other}) {
        fs::create_directories(d);
    }
    const pid_t child = ::fork();
    if (child == 0) {
        ::setenv("MICROVM_IMAGE_CACHE", cache.c_str(), 1);
        if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
            ::_exit(100);
        }
        const auto refused = [](const std::string& path) {
            auto plan = plan_rootfs(request(FileSystemPolicy::read_write({path})));
            return !plan && plan.error().message.find("trusted state") != std::string::npos;
        };
        if (refused(outer)) ::_exit(101);  // control: nothing mounted yet
        if (::mount(other.c_str(), (outer + "/o").c_str(), nullptr, MS_BIND, nullptr) != 0) ::_exit(102);
        if (refused(outer)) ::_exit(103);  // an unrelated bind is no reason
        int code = 0, bit = 1;
        for (const auto& [source, target] : {std::pair{cache, outer + "/m"}, std::pair{cache + "/sub", outer + "/s"},
                                             std::pair{dir.path(), outer + "/h"}}) {
            if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) ::_exit(104);
            if (!refused(outer)) code |= bit;  // the state itself, a directory in it, one holding it
            ::umount2(target.c_str(), MNT_DETACH);
            bit <<= 1;
        }
        // An overlay writing into the state (its upper directory there), on a device of its own.
        const std::string options = "lowerdir=" + other + ",upperdir=" + cache + "/sub/deeper,workdir=" + cache + "/work";
        fs::create_directories(cache + "/work");
        if (::mount("overlay", (outer + "/m").c_str(), "overlay", 0, options.c_str()) != 0) ::_exit(105);
        if (!refused(outer)) code |= bit;
        ::_exit(code);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "100+: setup failed; else a bit per mount not refused "
                                         "(1: the state, 2: a directory in it, 4: one holding it, "
                                         "8: an overlay whose upper directory is in it)";
}

// Provider state named in settings and the environment: gvisor's state_dir is a base where it
// makes its own entries (its other entries stay writable), a directory that does not exist yet
// is protected at the real path it will have, and $MICROVM_GUEST_IMAGE is the image the VM
// providers boot (red team, 2026-12-03).
// Two more ways state escaped its protection (red team, 2026-12-04): a settings file named
// relative to the working directory (`--config cfg.toml`) was not protected at all, and a
// microvm* entry that is a symlink (a daemon's state moved to another disk) protected its name
// but not where it points.
TEST(Rootfs, RelativeAndSymlinkedStateIsProtectedWhereItReallyIs) {
    TempDir cwd_dir, target;
    const auto saved_cwd = fs::current_path();
    fs::current_path(cwd_dir.path());
    std::ofstream(cwd_dir.path() + "/cfg.toml") << "";
    microvm::host::protect_trusted_state("cfg.toml");
    fs::current_path(saved_cwd);
    EXPECT_FALSE(plan_rootfs(request(FileSystemPolicy::read_write({cwd_dir.path()}))))
        << "the directory of a settings file named relatively is writable";

    const std::string link = "/var/lib/microvm-test-link-" + std::to_string(::getpid());
    fs::create_directories("/var/lib");
    fs::create_symlink(target.path(), link);
    auto plan = plan_rootfs(request(FileSystemPolicy::read_write({target.path()})));
    fs::remove(link);
    EXPECT_FALSE(plan) << "the target of " << link << " is writable";
}

// The attack (red team, 2026-12-04): the programs the host runs were not trusted state. A
// process sandbox given rw= over the directory of the runsc a settings file named replaced it,
// and the next gvisor run executed the planted file as root; rw= over the directory of the
// microvm binary itself (a checkout granted to `make`) did the same to the next invocation.
// This process's binary and the objects it has mapped executable, every provider program the
// settings name, and those the providers find by their default names are refused as writable.
TEST(Rootfs, ProgramsTheHostRunsAreProtected) {
    const auto refused = [](const std::string& path) {
        auto plan = plan_rootfs(request(FileSystemPolicy::read_write({path})));
        if (!plan) {
            EXPECT_NE(plan.error().message.find("the programs the host runs"), std::string::npos) << plan.error().message;
        }
        return !plan;
    };
    const fs::path self = fs::read_symlink("/proc/self/exe");
    EXPECT_TRUE(refused(self.parent_path().string())) << "the directory of this process's own binary is writable";
    // This test binary is linked dynamically: its C library is mapped executable.
    const std::string libc = fs::canonical("/lib/x86_64-linux-gnu/libc.so.6").parent_path().string();
    EXPECT_TRUE(refused(libc)) << "the directory of the C library this process runs is writable";

    TempDir dir;
    for (const char* sub : {"gvisor", "qemu", "fc", "jail", "neighbour"}) fs::create_directories(dir.path() + "/" + sub);
    for (const char* file : {"gvisor/runsc", "qemu/qemu-system-x86_64", "fc/firecracker", "jail/jailer"}) {
        std::ofstream(dir.path() + "/" + file) << "#!/bin/sh\n";
    }
    microvm::host::protect_configured_state(
        {{"gvisor", {{"runsc", dir.path() + "/gvisor/runsc"}}},
         {"qemu", {{"qemu", dir.path() + "/qemu/qemu-system-x86_64"}}},
         {"firecracker", {{"binary", dir.path() + "/fc/firecracker"}, {"jailer", dir.path() + "/jail/jailer"}}}});
    for (const char* sub : {"gvisor", "qemu", "fc", "jail"}) {
        EXPECT_TRUE(refused(dir.path() + "/" + sub)) << sub << ": a configured program's directory is writable";
    }
    EXPECT_FALSE(refused(dir.path() + "/neighbour"));
    // A directory of PATH, where a provider looks for its program by default name, whether one
    // lies there yet or not: a runsc planted ahead of /usr/bin is the one the provider finds.
    fs::create_directories(dir.path() + "/path");
    // And the way to it (red team, 2026-12-04): a PATH entry or a configured program reached
    // through a symlink, whose directory a sandbox could be granted to point the link elsewhere.
    fs::create_directories(dir.path() + "/real/bin");
    fs::create_directories(dir.path() + "/opt");
    fs::create_directory_symlink(dir.path() + "/real/bin", dir.path() + "/opt/bin");
    {
        testsupport::ScopedEnv path("PATH", dir.path() + "/path:" + dir.path() + "/opt/bin:" + std::getenv("PATH"));
        EXPECT_TRUE(refused(dir.path() + "/path")) << "a PATH directory is writable";
        EXPECT_TRUE(refused(dir.path() + "/opt")) << "the directory holding a PATH entry's symlink is writable";
    }
    fs::create_directories(dir.path() + "/gv/release");
    fs::create_directories(dir.path() + "/links");
    fs::create_directory_symlink("../gv/release", dir.path() + "/links/gvisor");
    std::ofstream(dir.path() + "/gv/release/runsc") << "#!/bin/sh\n";
    microvm::host::protect_configured_state({{"gvisor", {{"runsc", dir.path() + "/links/gvisor/runsc"}}}});
    EXPECT_TRUE(refused(dir.path() + "/links")) << "the directory holding the link to the configured runsc is writable";
    EXPECT_TRUE(refused(dir.path() + "/gv")) << "the configured runsc's real directory is writable";
    EXPECT_TRUE(refused("/usr/local/sbin")) << "a system program directory is writable";
    // What QEMU loads from beside its binary: modules and firmware.
    fs::create_directories(dir.path() + "/prefix/bin");
    fs::create_directories(dir.path() + "/prefix/lib/x86_64-linux-gnu/qemu");
    fs::create_directories(dir.path() + "/prefix/share/qemu");
    std::ofstream(dir.path() + "/prefix/bin/qemu-system-x86_64") << "#!/bin/sh\n";
    microvm::host::protect_configured_state({{"qemu", {{"qemu", dir.path() + "/prefix/bin/qemu-system-x86_64"}}}});
    EXPECT_TRUE(refused(dir.path() + "/prefix/lib/x86_64-linux-gnu/qemu")) << "QEMU's module directory is writable";
    EXPECT_TRUE(refused(dir.path() + "/prefix/share/qemu")) << "QEMU's firmware directory is writable";
    // The configuration the host's own processes read with trust (TLS, the dynamic loader).
    EXPECT_TRUE(refused("/etc/ssl"));
    EXPECT_TRUE(refused("/etc/ld.so.conf.d"));
    // And the directories the libraries are found in (red team, 2026-12-04: a libm.so.6 left in
    // a granted /usr/local/lib was the one every later sandbox's programs loaded).
    ASSERT_FALSE(microvm::host::ld_so_conf_dirs().empty()) << "this host's /etc/ld.so.conf lists no directory";
    for (const std::string& lib : microvm::host::ld_so_conf_dirs()) {
        if (!fs::is_directory(lib)) continue;
        EXPECT_TRUE(refused(lib)) << lib << ", listed by /etc/ld.so.conf, is writable";
    }
    for (const char* lib : {"/usr/lib", "/usr/lib64", "/lib"}) EXPECT_TRUE(refused(lib)) << lib;
}

TEST(Rootfs, ConfiguredAndNamedStateIsProtectedAsItWillBe) {
    TempDir dir;
    fs::create_directories(dir.path() + "/base/microvm-gvisor-1.2-3");
    fs::create_directories(dir.path() + "/base/lock");
    fs::create_directories(dir.path() + "/data");
    fs::create_symlink(dir.path() + "/data", dir.path() + "/link");
    fs::create_directories(dir.path() + "/image");
    microvm::host::protect_configured_state(
        {{"gvisor", {{"state_dir", dir.path() + "/base"}}},
         {"qemu", {{"template_dir", dir.path() + "/link/templates"}}}});
    ::setenv("MICROVM_GUEST_IMAGE", (dir.path() + "/image").c_str(), 1);
    // The RTFS guests named by the environment (red team, 2026-12-04: a sandbox could rewrite
    // the guest every later RTFS run of this process used).
    fs::create_directories(dir.path() + "/guest");
    fs::create_directories(dir.path() + "/wasm");
    const char* saved_wasm = std::getenv("MICROVM_RTFS_WASM");
    const std::string saved_wasm_value = saved_wasm ? saved_wasm : "";
    ::setenv("MICROVM_GUEST", (dir.path() + "/guest/microvm-guest").c_str(), 1);
    ::setenv("MICROVM_RTFS_WASM", (dir.path() + "/wasm/rtfs-guest.wasm").c_str(), 1);
    for (const std::string& path : {dir.path() + "/base", dir.path() + "/base/microvm-gvisor-1.2-3",
                                    dir.path() + "/data", dir.path() + "/image", dir.path() + "/guest",
                                    dir.path() + "/wasm"}) {
        auto plan = plan_rootfs(request(FileSystemPolicy::read_write({path})));
        EXPECT_FALSE(plan) << path;
    }
    ::unsetenv("MICROVM_GUEST");
    if (saved_wasm) {
        ::setenv("MICROVM_RTFS_WASM", saved_wasm_value.c_str(), 1);
    } else {
        ::unsetenv("MICROVM_RTFS_WASM");
    }
    fs::create_directories(dir.path() + "/data/templates");
    EXPECT_FALSE(plan_rootfs(request(FileSystemPolicy::read_write({dir.path() + "/data/templates"}))));
    EXPECT_TRUE(plan_rootfs(request(FileSystemPolicy::read_write({dir.path() + "/base/lock"}))))
        << "gvisor's other entries of its base";
    ::unsetenv("MICROVM_GUEST_IMAGE");
}

// The attack (red team, 2026-12-04): a run with default settings was granted rw= over the
// template_dir another configuration named, forged the QEMU template and its manifest, and that
// configuration's next run restored it: a process protects only the state its own settings name.
// Configured state is therefore accepted only where every process protects it by name, whatever
// its settings or environment: what require_protected_state_place() accepts, plan_rootfs()
// refuses writable in a process that was told nothing of it.
TEST(Rootfs, StateConfiguredInAnotherProcessIsProtected) {
    using microvm::host::require_protected_state_place;
    const std::string tag = std::to_string(::getpid());
    const std::string run_dir = "/run/microvm-test-place-" + tag;
    const std::string cache_dir = "/var/cache/microvm/test-place-" + tag;
    const std::string user_dir = "/run/user/" + std::to_string(40000 + ::getpid() % 20000) + "/microvm/t";
    // microvmd's (a non-root daemon's default state directory), and a daemon's under /var/lib.
    const std::string user_daemon_dir = fs::path(user_dir).parent_path().parent_path().string() + "/microvmd/state";
    const std::string lib_dir = "/var/lib/microvm-test-place-" + tag;
    const bool had_run_user = fs::exists("/run/user");
    for (const std::string& d : {run_dir + "/templates", cache_dir + "/templates", user_dir, user_daemon_dir,
                                 lib_dir + "/state"}) {
        fs::create_directories(d);
    }
    for (const std::string& path : {run_dir + "/templates", cache_dir + "/templates", user_dir, user_daemon_dir,
                                    lib_dir + "/state", run_dir + "/not-made-yet"}) {
        auto ok = require_protected_state_place(path, "template_dir");
        EXPECT_TRUE(ok) << path << ": " << (ok ? "" : ok.error().message);
        for (const std::string& granted : {path, fs::path(path).parent_path().string()}) {
            auto plan = plan_rootfs(request(FileSystemPolicy::read_write({granted})));
            EXPECT_FALSE(plan) << granted << " is accepted as a state place but a sandbox may write it";
        }
    }
    // What every process protects by name (microvmd warns of its files elsewhere).
    using microvm::host::protected_by_name;
    for (const char* yes : {"/etc/microvmd/tokens", "/var/log/microvmd/audit.jsonl", "/var/lib/microvm-x/state",
                            "/run/microvmd/state", "/run/user/1000/microvmd", "/var/cache/microvm"}) {
        EXPECT_TRUE(protected_by_name(yes)) << yes;
    }
    for (const char* no : {"/etc/ssl/private/key.pem", "/var/lib/other", "/run/user/x/microvm", "/run/user/1000",
                           // not a scratch path: names judged, never made
                           "/srv/microvm", "/etc/microvmd/../passwd", "/tmp/microvm"}) {
        EXPECT_FALSE(protected_by_name(no)) << no;
    }
    // Anywhere else is refused, by real path: a symlink in a protected place leads out of it.
    TempDir elsewhere;
    fs::create_symlink(elsewhere.path(), run_dir + "/link");
    for (const std::string& path :
         {elsewhere.path() + "/templates", run_dir + "/link/templates", std::string("/srv/microvm"),
          // ".." through a directory that does not exist yet is not resolved by the kernel
          // until it is made: it led out to /srv (red team, 2026-12-04).
          run_dir + "/not-made-yet/../../../srv/templates", run_dir + "/../srv",
          std::string("/var/cache/other-microvm"), std::string("/run/user/1000/other"),
          std::string("/run/user/x/microvm"), std::string("/run"), std::string("relative/templates")}) {
        auto ok = require_protected_state_place(path, "template_dir");
        ASSERT_FALSE(ok) << path << " was accepted as a state place";
        EXPECT_EQ(ok.error().kind, Failure::Kind::SetupError);
        EXPECT_NE(ok.error().message.find("setting template_dir '" + path + "'"), std::string::npos)
            << ok.error().message;
    }
    fs::remove_all(run_dir);
    fs::remove_all(cache_dir);
    fs::remove_all(lib_dir);
    fs::remove_all(fs::path(user_dir).parent_path().parent_path());
    if (!had_run_user) fs::remove("/run/user");
}

// The attack: --fs ro=/tmp/x where /tmp/x is a symlink (planted by an earlier sandbox with rw)
// to /proc, /sys, /dev or /: the resolved object is judged, not the name.
TEST(Rootfs, SymlinksToTheHostsRootOrKernelInterfacesAreRefused) {
    TempDir dir;
    for (const char* target : {"/", "/proc", "/proc/1", "/sys", "/sys/fs/cgroup", "/dev",
                               "/dev/shm", "/run/../proc"}) {
        const std::string link = dir.path() + "/link";
        fs::remove(link);
        fs::create_symlink(target, link);
        for (FileSystemPolicy policy :
             {FileSystemPolicy::read_only({link}), FileSystemPolicy::read_write({link})}) {
            auto plan = plan_rootfs(request(policy));
            ASSERT_FALSE(plan) << target;
            EXPECT_EQ(plan.error().kind, Failure::Kind::InvalidInput) << target;
            EXPECT_NE(plan.error().message.find("fs_policy path '" + link + "'"),
                      std::string::npos)
                << plan.error().message;
        }
    }
    // A magic link of /proc is never followed.
    auto magic = plan_rootfs(request(FileSystemPolicy::read_only({"/proc/self/root"})));
    ASSERT_FALSE(magic);
}

TEST(Rootfs, ADirectoryHoldingAKernelInterfaceMountIsRefused) {
    // Binds are recursive: a directory above a cgroup mount would bring the host's cgroups in.
    // (/sys/fs itself is refused for lying in /sys; a symlink to it is judged by what it holds.)
    TempDir dir;
    fs::create_directory_symlink("/sys/fs", dir.path() + "/fs");
    auto plan = plan_rootfs(request(FileSystemPolicy::read_only({dir.path() + "/fs"})));
    ASSERT_FALSE(plan);
    EXPECT_EQ(plan.error().kind, Failure::Kind::InvalidInput);
}

TEST(Rootfs, ReadOnlyAndReadWritePathsCombine) {
    TempDir dir;
    fs::create_directory(dir.path() + "/out");
    auto plan = plan_rootfs(
        request(FileSystemPolicy::read_write({dir.path() + "/out"}, {"/usr", dir.path()})));
    ASSERT_TRUE(plan) << plan.error().message;
    ASSERT_TRUE(find(*plan, "/usr"));
    EXPECT_FALSE(find(*plan, "/usr")->writable);
    ASSERT_TRUE(find(*plan, dir.path()));
    EXPECT_FALSE(find(*plan, dir.path())->writable);
    // Inside a read-only path, and still writable: bound over it.
    ASSERT_TRUE(find(*plan, dir.path() + "/out"));
    EXPECT_TRUE(find(*plan, dir.path() + "/out")->writable);
}

TEST(Rootfs, NestedPathsAreMergedUnlessASymlinkLeadsElsewhere) {
    TempDir dir;
    fs::create_directory(dir.path() + "/sub");
    auto merged =
        plan_rootfs(request(FileSystemPolicy::read_only({dir.path(), dir.path() + "/sub"})));
    ASSERT_TRUE(merged);
    EXPECT_TRUE(find(*merged, dir.path()));
    EXPECT_FALSE(find(*merged, dir.path() + "/sub"));

    fs::create_directory_symlink("/etc", dir.path() + "/link");
    auto nested =
        plan_rootfs(request(FileSystemPolicy::read_only({dir.path(), dir.path() + "/link"})));
    ASSERT_FALSE(nested);
    EXPECT_EQ(nested.error().kind, Failure::Kind::InvalidInput);
}

// A symlink planted by an earlier sandbox (to /etc here) is never followed for a policy path, read
// only or writable; the system's own links in "/" are (the default read-only policy names /lib).
TEST(Rootfs, APolicySymlinkOutsideTheRootIsRefused) {
    TempDir dir;
    fs::create_directory_symlink("/etc", dir.path() + "/link");
    for (FileSystemPolicy policy : {FileSystemPolicy::read_only({dir.path() + "/link"}),
                                    FileSystemPolicy::read_write({dir.path() + "/link"})}) {
        auto plan = plan_rootfs(request(policy));
        ASSERT_FALSE(plan);
        EXPECT_EQ(plan.error().kind, Failure::Kind::InvalidInput);
        EXPECT_NE(plan.error().message.find("through a symlink"), std::string::npos)
            << plan.error().message;
    }
    auto system = plan_rootfs(request(FileSystemPolicy::read_only({})));
    ASSERT_TRUE(system) << system.error().message;
}

// A program names the files it needs (its "#!" line, PT_INTERP, libraries): they pass the
// checks of policy paths, so no program brings /proc, /sys, /dev or a non-regular file into its
// root, whatever the policy.
TEST(Rootfs, ProgramFilesInKernelInterfacesOrNotRegularAreRefused) {
    TempDir dir;
    const std::string fifo = dir.path() + "/fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
    fs::create_directory_symlink("/sys/kernel", dir.path() + "/kernel");
    for (const std::string& source :
         {std::string("/sys/kernel/notes"), std::string("/proc/version"),
          dir.path() + "/kernel/notes", std::string("/dev/null"), fifo, dir.path()}) {
        for (FileSystemPolicy policy : {FileSystemPolicy::none(), FileSystemPolicy::read_only({})}) {
            RootfsRequest r = request(policy);
            r.program_files.push_back({"/lib/x86_64-linux-gnu/libevil.so", source});
            auto plan = plan_rootfs(r);
            ASSERT_FALSE(plan) << source << " bound as a program file";
            EXPECT_EQ(plan.error().kind, Failure::Kind::InvalidInput) << source;
            EXPECT_NE(plan.error().message.find("program file '" + source + "'"),
                      std::string::npos)
                << plan.error().message;
        }
    }
}

TEST(Rootfs, RefusesToHideADifferentFileBehindAPolicyPath) {
    RootfsRequest r = request(FileSystemPolicy::read_only({"/usr"}));
    r.program_files = {{"/usr/bin/true", "/etc/passwd"}};
    auto plan = plan_rootfs(r);
    ASSERT_FALSE(plan);
    EXPECT_EQ(plan.error().kind, Failure::Kind::SetupError);
}

}  // namespace
}  // namespace microvm::host
