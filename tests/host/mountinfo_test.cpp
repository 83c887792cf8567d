// host/mountinfo.hpp: the mounts below a path, found and detached as the kernel names them.
#include "host/mountinfo.hpp"

#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/expectations.hpp"
#include "support/host_files.hpp"

namespace fs = std::filesystem;

namespace {

// mountinfo writes a blank in a mount point as "\040": a reader that took the field as it stands
// (the gvisor provider's own, before) never matched such a mount to its path, so a state
// directory named with a blank kept its bundles' mounts for good. Nested mounts come deepest
// first, so that each detach finds its point still there.
TEST(MountOption, FindsBareAndValuedOptionsWholeNotByPrefix) {
    using microvm::host::mount_option;
    const std::string options = "rw,lowerdir=/l,upperdir=/u/a,b=,noexec";
    EXPECT_EQ(mount_option(options, "upperdir"), "/u/a");
    EXPECT_EQ(mount_option(options, "noexec"), "");
    EXPECT_EQ(mount_option(options, "rw"), "");
    EXPECT_EQ(mount_option(options, "b"), "");
    EXPECT_EQ(mount_option(options, "ro"), std::nullopt);
    EXPECT_EQ(mount_option(options, "upper"), std::nullopt);
    EXPECT_EQ(mount_option(options, "noexe"), std::nullopt);
    EXPECT_EQ(mount_option("", "ro"), std::nullopt);
}

TEST(MountsBelow, AMountWhosePathHasABlankIsFoundAndDetachedDeepestFirst) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "mounting needs root");
    const testsupport::HostDir scratch("mounts-below");
    const fs::path& top = scratch.path();
    const fs::path outer = top / "state dir";
    const fs::path inner = outer / "bundle\tone";
    fs::create_directories(outer);
    const pid_t child = ::fork();
    if (child == 0) {
        // A mount namespace of its own: the mounts never show outside.
        if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
            ::mount("tmpfs", outer.c_str(), "tmpfs", 0, "size=64k") != 0 || ::mkdir(inner.c_str(), 0700) != 0 ||
            ::mount("tmpfs", inner.c_str(), "tmpfs", 0, "size=64k") != 0) {
            ::_exit(2);
        }
        const std::vector<std::string> expected = {inner.string(), outer.string()};
        if (microvm::host::mount_points_below(top.string()) != expected) ::_exit(3);
        microvm::host::unmount_below(top.string());
        ::_exit(microvm::host::mount_points_below(top.string()).empty() ? 0 : 4);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status)) << status;
    EXPECT_NE(WEXITSTATUS(status), 2) << "the mounts could not be made";
    EXPECT_NE(WEXITSTATUS(status), 3) << "the mounts below were not found, deepest first";
    EXPECT_NE(WEXITSTATUS(status), 4) << "a mount below is left";
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
