// microvm/private_file.hpp: the one way the CLI and microvmd read a secret they are named (a
// token file, a TLS key). What another user could plant or change under that name is refused
// on the descriptor that is then read.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "microvm/private_file.hpp"
#include "support/expectations.hpp"
#include "support/host_files.hpp"

using namespace microvm;

namespace {

std::string write_file(const std::string& path, const std::string& text, mode_t mode) {
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path;
}

std::string refusal(const Expected<std::string>& r) { return r ? "(read: " + *r + ")" : r.error().message; }

}  // namespace

TEST(PrivateFile, OnlyThisUsersUnsharedRegularFileIsRead) {
    testsupport::HostDir dir("private-file");
    const std::string d = dir.path().string();
    const std::string secret = write_file(d + "/secret", "s3cret\n", 0600);
    auto ok = read_private_file(secret, "token file S", 1024);
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(*ok, "s3cret\n");

    const std::string shared = write_file(d + "/shared", "s3cret\n", 0640);
    EXPECT_NE(refusal(read_private_file(shared, "token file S", 1024)).find("chmod 600"), std::string::npos);

    // A symlink as the name, even to this user's private file: the link's target is whatever
    // its writer pointed it at when the file is read.
    const std::string link = d + "/link";
    ASSERT_EQ(::symlink(secret.c_str(), link.c_str()), 0);
    EXPECT_NE(refusal(read_private_file(link, "token file L", 1024)).find("token file L"), std::string::npos);

    // A FIFO is refused at once, never waited on for a writer.
    const std::string fifo = d + "/fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    EXPECT_NE(refusal(read_private_file(fifo, "token file F", 1024)).find("not a regular file"), std::string::npos);
    EXPECT_NE(refusal(read_private_file(d, "token file D", 1024)).find("not a regular file"),
              std::string::npos);
    EXPECT_NE(refusal(read_private_file(d + "/missing", "token file M", 1024)).find("token file M"),
              std::string::npos);

    // Larger than asked for: refused, not cut.
    const std::string big = write_file(d + "/big", std::string(1025, 'x'), 0600);
    EXPECT_NE(refusal(read_private_file(big, "token file B", 1024)).find("over 1024 bytes"), std::string::npos);
    EXPECT_TRUE(read_private_file(big, "token file B", 1025));
}

TEST(PrivateFile, AnotherUsersFileIsRefusedWhateverItsMode) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "giving a file to another user needs root");
    testsupport::HostDir dir("private-file");
    const std::string d = dir.path().string();
    const std::string theirs = write_file(d + "/theirs", "s3cret\n", 0600);
    ASSERT_EQ(::chown(theirs.c_str(), 65534, 65534), 0);
    EXPECT_NE(refusal(read_private_file(theirs, "token file T", 1024)).find("does not belong to this user"),
              std::string::npos);
}
