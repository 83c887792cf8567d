// The egress proxy's private Unix socket (EgressSession::listen_private_unix), which the wasm and
// mock providers' fetches and a VM's forward reach by path: never in a directory another user
// could rename.
#include "host/egress.hpp"

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
// policy's records skipped). Root's socket is in /tmp, whatever $TMPDIR says.
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
    EXPECT_TRUE(socket->starts_with("/tmp/microvm-egress-")) << *socket;
    EXPECT_TRUE(std::filesystem::is_empty(theirs));
}

}  // namespace
}  // namespace microvm::host
