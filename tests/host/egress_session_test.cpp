// The egress proxy's private Unix socket (EgressSession::listen_private_unix), which the wasm and
// mock providers' fetches and a VM's forward reach by path: never in a directory another user
// could rename.
#include "host/egress.hpp"
#include "host/trusted_state.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
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

}  // namespace
}  // namespace microvm::host
