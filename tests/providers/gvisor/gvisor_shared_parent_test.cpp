// A state directory under a mount with shared propagation (/run on a systemd host): whatever the
// provider mounts in a bundle (the staged bind sources, the result tmpfs) would propagate to the
// parent's peer mounts, elsewhere in this namespace or in others, and show the staged host
// objects there while the execution runs (docs/security.md, gVisor, bind sources). Each bundle
// is a private mount of its own (bundle.hpp): nothing mounted in it reaches a peer. The scene:
// a tmpfs made shared, a bind of it elsewhere (a peer: same peer group), the provider's state
// directory on the tmpfs.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "gvisor/bundle.hpp"
#include "gvisor/fs_tree.hpp"
#include "gvisor/runtime.hpp"
#include "gvisor/state_dir.hpp"
#include "host/mountinfo.hpp"
#include "support/expectations.hpp"
#include "support/host_files.hpp"

namespace microvm {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using testsupport::glob_paths;
using testsupport::HostDir;
using testsupport::read_text;
using testsupport::write_file;

// <base>/shared: a tmpfs with shared propagation; <base>/peer: a bind of it, in its peer group.
// Under /run: the state directory must lie below directories only root can write (not /tmp).
class SharedMountPair {
  public:
    SharedMountPair() {
        // Named like this process's own state ("microvm-...-PID."): other test processes
        // running alongside leave it out of the mount tables they compare.
        std::string tmpl = "/run/microvm-test-" + std::to_string(::getpid()) + ".shared-parent-XXXXXX";
        if (!::mkdtemp(tmpl.data())) {
            error_ = std::string("mkdtemp: ") + std::strerror(errno);
            return;
        }
        base_ = tmpl;
        fs::create_directory(shared());
        fs::create_directory(peer());
        if (::mount("tmpfs", shared().c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
                    "mode=0755,size=16m") != 0) {
            error_ = std::string("mount tmpfs: ") + std::strerror(errno);
            return;
        }
        shared_mounted_ = true;
        if (::mount(nullptr, shared().c_str(), nullptr, MS_SHARED, nullptr) != 0) {
            error_ = std::string("MS_SHARED: ") + std::strerror(errno);
            return;
        }
        if (::mount(shared().c_str(), peer().c_str(), nullptr, MS_BIND, nullptr) != 0) {
            error_ = std::string("bind of the shared tmpfs: ") + std::strerror(errno);
            return;
        }
        peer_mounted_ = true;
    }
    ~SharedMountPair() {
        if (peer_mounted_) ::umount2(peer().c_str(), MNT_DETACH);
        if (shared_mounted_) ::umount2(shared().c_str(), MNT_DETACH);
        if (!base_.empty()) {  // rmdir: never deletes anything through a mount left behind
            ::rmdir(peer().c_str());
            ::rmdir(shared().c_str());
            ::rmdir(base_.c_str());
        }
    }
    SharedMountPair(const SharedMountPair&) = delete;
    SharedMountPair& operator=(const SharedMountPair&) = delete;

    const std::string& error() const { return error_; }
    fs::path shared() const { return base_ / "shared"; }
    fs::path peer() const { return base_ / "peer"; }

  private:
    fs::path base_;
    std::string error_;
    bool shared_mounted_ = false;
    bool peer_mounted_ = false;
};

// Mounts below dir that hold something the provider mounted in a bundle: a staged bind source
// (<bundle>/binds/<n>, or at its destination in <bundle>/rootfs/) or the result tmpfs (<bundle>/private/result). (The bundle's own mount shows at
// a peer while it exists: a bind of the bundle directory, which the peer shows anyway.)
std::vector<std::string> bundle_content_mounts_below(const fs::path& dir) {
    std::vector<std::string> found;
    for (const std::string& point : host::mount_points_below(dir.string())) {
        if (point.find("/binds/") != std::string::npos ||
            point.find("/rootfs/") != std::string::npos || point.ends_with("/result")) {
            found.push_back(point);
        }
    }
    return found;
}

// Mount points strictly below dir.
std::vector<std::string> mounts_strictly_below(const fs::path& dir) {
    std::vector<std::string> points = host::mount_points_below(dir.string());
    std::erase(points, dir.string());
    return points;
}

// A host directory holding a marker file, bound read-only, that "/bin/sh -c" reads.
struct MarkedSource {
    // Outside the sandbox's /tmp: a read-only bind staged in the bundle's root (staged_binds.hpp).
    HostDir dir{"gvisor-shared-parent-src", "/var/tmp"};
    MarkedSource() {
        fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_read |
                                        fs::perms::group_exec | fs::perms::others_read |
                                        fs::perms::others_exec);
        write_file(dir.path() / "marker", "staged\n");
    }
    host::SandboxRequest reader() const {
        host::SandboxRequest req;
        req.program = "/bin/sh";
        req.argv = {"/bin/sh", "-c",
                    "read a < '" + (dir.path() / "marker").string() + "'; echo \"$a\""};
        req.fs_policy = FileSystemPolicy::read_only({dir.path().string()});
        req.timeout = 20s;
        return req;
    }
};

// What one side of the pair shows of the staged sources: the marker through a staged bind, and
// the mounts of bundle contents.
struct Seen {
    std::vector<std::string> markers;
    std::vector<std::string> mounts;
};
Seen seen_below(const fs::path& dir) {
    std::vector<std::string> markers = glob_paths(dir.string() + "/*/bundles/*/binds/*/marker");
    // A read-only bind lies at its destination in the root (the source's path, or /src below).
    for (const char* in_root : {"/*/bundles/*/rootfs/var/tmp/*/marker", "/*/bundles/*/rootfs/src/marker"}) {
        for (std::string& m : glob_paths(dir.string() + in_root)) markers.push_back(std::move(m));
    }
    return {std::move(markers), bundle_content_mounts_below(dir)};
}

std::unique_ptr<gvisor::Runtime> runtime_on(const SharedMountPair& pair) {
    gvisor::RuntimeSettings settings;
    settings.state_base = pair.shared().string();
    auto runtime = gvisor::Runtime::create(settings);
    EXPECT_TRUE(runtime) << runtime.error().message;
    return runtime ? std::move(*runtime) : nullptr;
}

class GvisorSharedStateBaseTest : public ::testing::Test {
  protected:
    void SetUp() override {
        MICROVM_REQUIRE("root", ::geteuid() == 0, "mounts need root");
        auto available = gvisor::Runtime::create({});
        if (!available) MICROVM_REQUIRE("gvisor", false, available.error().message);
        ASSERT_EQ(pair_.error(), "");
    }
    SharedMountPair pair_;
};

// A fresh run, looked at between the staging and runsc's start: the staged source shows in the
// state directory's own mount, never at its peer.
TEST_F(GvisorSharedStateBaseTest, NoStagedBindShowsAtAPeerOfASharedStateDirectory) {
    MarkedSource source;
    Seen at_shared, at_peer;
    auto runtime = runtime_on(pair_);
    ASSERT_TRUE(runtime);
    runtime->set_bind_window_hooks_for_tests({.before_runsc = [&] {
        at_shared = seen_below(pair_.shared());
        at_peer = seen_below(pair_.peer());
    }});
    auto r = runtime->run(source.reader());
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->stdout_data.data, "staged\n") << r->stderr_data.data;
    EXPECT_EQ(at_shared.markers.size(), 1u) << "the source was not staged where the test looks";
    EXPECT_EQ(at_peer.markers, std::vector<std::string>{}) << "a staged source shows at the peer";
    EXPECT_EQ(at_peer.mounts, std::vector<std::string>{})
        << "a staged mount propagated to the peer";
    runtime.reset();  // waits for the teardown
    EXPECT_EQ(mounts_strictly_below(pair_.peer()), std::vector<std::string>{});
    EXPECT_EQ(mounts_strictly_below(pair_.shared()), std::vector<std::string>{});
}

// A sandbox built ahead holds its staged sources until its launch: none shows at the peer
// meanwhile.
TEST_F(GvisorSharedStateBaseTest, NoStagedBindOfASandboxBuiltAheadShowsAtAPeer) {
    MarkedSource source;
    auto runtime = runtime_on(pair_);
    ASSERT_TRUE(runtime);
    const host::SandboxRequest req = source.reader();
    auto prepared = runtime->prepare(req);
    ASSERT_TRUE(prepared) << prepared.error().message;
    const Seen at_shared = seen_below(pair_.shared());
    const Seen at_peer = seen_below(pair_.peer());
    EXPECT_EQ(at_shared.markers.size(), 1u) << "the source was not staged where the test looks";
    EXPECT_EQ(at_peer.markers, std::vector<std::string>{}) << "a staged source shows at the peer";
    EXPECT_EQ(at_peer.mounts, std::vector<std::string>{})
        << "a staged mount propagated to the peer";
    auto r = (*prepared)->launch(req);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->stdout_data.data, "staged\n") << r->stderr_data.data;
    prepared->reset();
    runtime.reset();
    EXPECT_EQ(mounts_strictly_below(pair_.peer()), std::vector<std::string>{});
    EXPECT_EQ(mounts_strictly_below(pair_.shared()), std::vector<std::string>{});
}

// The result tmpfs of a guest's bundle: what the guest writes there never shows at the peer.
TEST_F(GvisorSharedStateBaseTest, TheResultTmpfsNeverShowsAtAPeer) {
    const fs::path bundles = pair_.shared() / "bundles";
    fs::create_directory(bundles);
    {
        auto bundle = gvisor::Bundle::create(bundles.string(), "b", /*result_dir=*/true);
        ASSERT_TRUE(bundle) << bundle.error().message;
        write_file(fs::path(*(*bundle)->result_dir()) / "frame", "result\n");
        EXPECT_EQ(read_text(pair_.shared() / "bundles/b/private/result/frame"), "result\n");
        EXPECT_FALSE(fs::exists(pair_.peer() / "bundles/b/private/result/frame"))
            << "the result shows at the peer";
        EXPECT_EQ(bundle_content_mounts_below(pair_.peer()), std::vector<std::string>{});
    }
    EXPECT_EQ(mounts_strictly_below(pair_.peer()), std::vector<std::string>{});
    EXPECT_EQ(mounts_strictly_below(pair_.shared()), std::vector<std::string>{});
    EXPECT_FALSE(fs::exists(bundles / "b"));
    fs::remove(bundles);
}

// A crashed host's bundle (its Bundle never destroyed), with a staged bind and the result tmpfs
// mounted: the sweep detaches the bundle's own mount, what is mounted in it, and the bundle
// mount's copies at the peer, and removes the tree without touching the bound host files.
TEST_F(GvisorSharedStateBaseTest, TheSweepDetachesACrashedHostsBundleAndItsCopiesAtThePeer) {
    MarkedSource source;
    const pid_t dead = ::fork();
    if (dead == 0) ::_exit(0);
    ASSERT_GT(dead, 0);
    ASSERT_EQ(::waitpid(dead, nullptr, 0), dead);
    const std::string name = std::string(gvisor::kNamePrefix) + std::to_string(dead) + "-0";
    const fs::path bundles = pair_.shared() / name / "bundles";
    fs::create_directories(bundles);
    struct stat st {};
    ASSERT_EQ(::stat(source.dir.path().c_str(), &st), 0);
    std::vector<gvisor::OciMount> mounts{{.destination = "/src",  // staged in the root
                                          .type = "bind",
                                          .source = source.dir.path().string(),
                                          .options = {},
                                          .source_identity = {st.st_dev, st.st_ino},
                                          .directory = true,
                                          .writable = false}};
    {
        auto bundle = gvisor::Bundle::create(bundles.string(), name, /*result_dir=*/true);
        ASSERT_TRUE(bundle) << bundle.error().message;
        ASSERT_TRUE((*bundle)->stage_binds(mounts));
        (void)bundle->release();  // the host crashed: nothing detaches or removes it
    }
    EXPECT_EQ(seen_below(pair_.shared()).markers.size(), 1u);
    EXPECT_EQ(seen_below(pair_.peer()).markers, std::vector<std::string>{});
    EXPECT_EQ(mounts_strictly_below(pair_.peer()).size(), 1u) << "the bundle mount's copy";
    EXPECT_EQ(gvisor::sweep_stale_state_dirs(pair_.shared().string()), 1u);
    EXPECT_FALSE(fs::exists(pair_.shared() / name));
    EXPECT_EQ(mounts_strictly_below(pair_.shared()), std::vector<std::string>{});
    EXPECT_EQ(mounts_strictly_below(pair_.peer()), std::vector<std::string>{});
    EXPECT_EQ(read_text(source.dir.path() / "marker"), "staged\n");
}

}  // namespace
}  // namespace microvm
