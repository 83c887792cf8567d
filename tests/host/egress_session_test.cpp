// The egress proxy's private Unix socket (EgressSession::listen_private_unix), which the wasm and
// mock providers' fetches and a VM's forward reach by path: never in a directory another user
// could rename.
#include "host/egress.hpp"
#include "host/stale_dirs.hpp"
#include "host/trusted_state.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "planning_support.hpp"
#include "support/expectations.hpp"

namespace microvm::host {
namespace {

// A review (2026-12-05): root's run under `sudo -E` made the socket's directory in the user's
// $TMPDIR; the user renamed it away, listened at its name and answered root's fetches (the
// policy's records skipped). Root's socket is in /run, whatever $TMPDIR says.
TEST(EgressSession, RootsPrivateSocketIgnoresTmpdir) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "root's choice of directory");
    TempDir dir;
    ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
    const std::string theirs = dir.path() + "/theirs";
    ASSERT_EQ(::mkdir(theirs.c_str(), 0755), 0);
    ASSERT_EQ(::chown(theirs.c_str(), 65534, 65534), 0);
    const char* before = std::getenv("TMPDIR");
    const std::string kept = before ? before : "";
    ::setenv("TMPDIR", theirs.c_str(), 1);
    auto session = EgressSession::open(NetworkPolicy::allow({"example.test"}), proxy::Limits{});
    Expected<std::string> socket = session ? session->listen_private_unix() : rtfs::unexpected(session.error());
    if (before) ::setenv("TMPDIR", kept.c_str(), 1);
    else ::unsetenv("TMPDIR");
    ASSERT_TRUE(socket) << socket.error().message;
    EXPECT_TRUE(socket->starts_with("/run/microvm-egress-")) << *socket;
    EXPECT_TRUE(std::filesystem::is_empty(theirs));
}

// The attack (red team, 2026-12-05): root's socket directory was in /tmp, and a sandbox run at the
// same time with rw=/tmp (idmapped: root over /tmp) entered it and put a symlink to another Unix
// socket in the socket's place; the wasm run's next fetch connected by that path. The directory
// is now where no policy may give a sandbox write access: rw= over it or what holds it is
// refused while the session is open.
TEST(EgressSession, NoSandboxMayWriteWhereRootsPrivateSocketIs) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "root's choice of directory");
    auto session = EgressSession::open(NetworkPolicy::allow({"example.test"}), proxy::Limits{});
    ASSERT_TRUE(session) << session.error().message;
    Expected<std::string> socket = session->listen_private_unix();
    ASSERT_TRUE(socket) << socket.error().message;
    const std::string dir = std::filesystem::path(*socket).parent_path().string();
    for (const std::string& path : {dir, std::filesystem::path(dir).parent_path().string()})
        EXPECT_FALSE(refuse_writable_trusted_state(path, "rw=")) << path << " may be written, beside " << *socket;
}

// A process killed while its session was open (SIGKILL, a second Ctrl-C) left its directory in
// /run, where nothing aged it (review, 2026-12-05): it is named by its owner and swept by the
// next session.
TEST(EgressSession, ADeadOwnersSocketDirectoryIsSwept) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "root's directory is in /run");
    const pid_t dead = ::fork();
    if (dead == 0) ::_exit(0);
    ASSERT_GT(dead, 0);
    ::waitpid(dead, nullptr, 0);
    // Ours, with the dead pid in our place: "microvm-egress-<pid>.<pid namespace>-<serial>".
    const std::string mine = owned_name("microvm-egress-");
    const std::string ours = "microvm-egress-" + std::to_string(::getpid()) + ".";
    ASSERT_TRUE(mine.starts_with(ours)) << mine;
    const std::string stale = "/run/microvm-egress-" + std::to_string(dead) + "." + mine.substr(ours.size());
    ASSERT_EQ(::mkdir(stale.c_str(), 0700), 0) << stale;
    ASSERT_TRUE(std::filesystem::exists(stale));
    auto session = EgressSession::open(NetworkPolicy::allow({"example.test"}), proxy::Limits{});
    ASSERT_TRUE(session) << session.error().message;
    Expected<std::string> socket = session->listen_private_unix();
    ASSERT_TRUE(socket) << socket.error().message;
    EXPECT_TRUE(socket->starts_with("/run/" + ours)) << *socket;
    EXPECT_FALSE(std::filesystem::exists(stale));
    ::rmdir(stale.c_str());
}

}  // namespace
}  // namespace microvm::host
