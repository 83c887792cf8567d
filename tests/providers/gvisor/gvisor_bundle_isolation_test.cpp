// One execution's bundle is out of every other sandbox's reach (docs/security.md, gVisor). A
// sandbox whose policy names a directory above the state directory (`--fs full`, `ro=/run`) is
// given a recursive clone of it; the bundle of an execution running at that moment (its
// result tmpfs, owned by the uid every gVisor sandbox runs as; its staged binds) must not come
// along. Before the bundle's mount was unbindable, a concurrent `--fs full` run read and
// replaced another execution's RTFS result, and every such run copied all other bundles' mounts.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "gvisor/runtime.hpp"
#include "gvisor/state_dir.hpp"
#include "host/mountinfo.hpp"
#include "host/unique_fd.hpp"
#include "support/expectations.hpp"
#include "support/host_files.hpp"

namespace microvm {
namespace {

using namespace std::chrono_literals;

// Mount points in this process's mount namespace whose path holds `marker` and starts with
// `under`.
int mounts_matching(const std::string& under, const std::string& marker) {
    int n = 0;
    for (const auto& m : host::read_mountinfo())
        n += m.mount_point.starts_with(under) && m.mount_point.find(marker) != std::string::npos;
    return n;
}

// What a sandbox whose policy names /run is given: a recursive clone of /run, made in this
// mount namespace as the provider stages a source (host/src/checked_tree.cpp); the number of
// this process's bundle mounts the clone took along. The clone is looked at in a child's mount
// namespace, attached onto a private mount so that nothing propagates back (the test's own
// namespace is untouched; the child's copy of it is not what is looked at: copying a namespace
// does not keep the unbindable mark).
int bundle_mounts_in_a_recursive_clone_of_run(const std::string& marker) {
    host::UniqueFd tree(::open_tree(AT_FDCWD, "/run", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
                                                          AT_RECURSIVE));
    char target[] = "/tmp/microvm-rclone-XXXXXX";
    if (!tree.valid() || !::mkdtemp(target)) return -1;
    const pid_t pid = ::fork();
    if (pid == 0) {
        if (::unshare(CLONE_NEWNS) != 0) ::_exit(100);
        int code = 102;
        if (::mount(target, target, nullptr, MS_BIND, nullptr) == 0 &&
            ::mount(nullptr, target, nullptr, MS_PRIVATE, nullptr) == 0 &&
            ::move_mount(tree.get(), "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) == 0) {
            code = std::min(mounts_matching(target, marker), 99);
        }
        ::_exit(code);  // the mounts go with the namespace
    }
    int status = 0;
    const bool waited = pid > 0 && ::waitpid(pid, &status, 0) == pid;
    ::rmdir(target);
    if (!waited || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
}

TEST(GvisorBundleIsolationTest, ARecursiveCloneOfRunTakesNoRunningExecutionsBundleAlong) {
    auto runtime = gvisor::Runtime::create({});
    if (!runtime) MICROVM_REQUIRE("gvisor", false, runtime.error().message);
    const std::string marker =
        std::string(gvisor::kNamePrefix) + std::to_string(::getpid()) + ".";
    testsupport::HostDir data{"gvisor-bundle-isolation"};
    int here = -1;
    int in_copy = -1;
    (*runtime)->set_bind_window_hooks_for_tests({.before_runsc = [&] {
        here = mounts_matching("/run/", marker);
        in_copy = bundle_mounts_in_a_recursive_clone_of_run(marker);
    }});
    host::SandboxRequest req;
    req.program = "/bin/true";
    req.argv = {"/bin/true"};
    req.fs_policy = FileSystemPolicy::read_write({data.path().string()});
    req.timeout = 20s;
    auto r = (*runtime)->run(req);
    ASSERT_TRUE(r) << r.error().message;
    // The bundle and its staged bind are mounts here, under /run...
    EXPECT_GE(here, 2);
    // ...and none of them in the copy.
    EXPECT_EQ(in_copy, 0);
}

}  // namespace
}  // namespace microvm
