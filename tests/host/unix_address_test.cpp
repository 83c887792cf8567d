// host/unix_address.hpp: a path becomes a Unix socket's address whole, or not at all. A path cut
// to fit sun_path names another file (perhaps one another user made); an empty one is an
// autobound abstract name, one with a NUL an abstract or shorter name than the one checked.
#include "host/unix_address.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "host/unique_fd.hpp"
#include "support/host_files.hpp"

using microvm::host::kMaxUnixSocketPath;
using microvm::host::unix_address;

namespace {

TEST(UnixAddress, APathIsTakenWholeOrRefused) {
    const std::string longest(kMaxUnixSocketPath, 'a');
    auto fits = unix_address(longest);
    ASSERT_TRUE(fits);
    EXPECT_EQ(fits->sun_family, AF_UNIX);
    EXPECT_EQ(std::string(fits->sun_path), longest);
    EXPECT_FALSE(unix_address(longest + "a"));
    EXPECT_FALSE(unix_address(""));
    EXPECT_FALSE(unix_address(std::string("sock\0et", 7)));
    EXPECT_FALSE(unix_address(std::string("\0abstract", 9)));
}

TEST(UnixAddress, TheAddressReachesTheSocketListeningThere) {
    const testsupport::HostDir dir("unix-address");
    const std::string path = (dir.path() / "s.sock").string();
    auto addr = unix_address(path);
    ASSERT_TRUE(addr);
    microvm::host::UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_EQ(::bind(listener.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr), 0) << std::strerror(errno);
    ASSERT_EQ(::listen(listener.get(), 1), 0);
    microvm::host::UniqueFd client(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    EXPECT_EQ(::connect(client.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr), 0) << std::strerror(errno);
}

}  // namespace
