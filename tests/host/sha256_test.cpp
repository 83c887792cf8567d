// host::Sha256: the system's libcrypto loaded on first use, checked against FIPS 180-2 vectors.
#include "host/sha256.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>

namespace microvm::host {
namespace {

TEST(Sha256, GivesTheStandardDigests) {
    EXPECT_EQ(*sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(*sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(*sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, HashesAFileFromItsStartWithoutMovingItsOffset) {
    int fd = ::memfd_create("sha256-test", MFD_CLOEXEC);
    ASSERT_GE(fd, 0);
    const std::string million(1000000, 'a');  // more than one read of the 1 MiB buffer with the rest
    const std::string text = million + million;
    ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    const off_t before = ::lseek(fd, 0, SEEK_CUR);
    Expected<std::string> got = sha256_hex_of_file(fd);
    ASSERT_TRUE(got) << got.error().message;
    EXPECT_EQ(*got, *sha256_hex(text));
    EXPECT_EQ(::lseek(fd, 0, SEEK_CUR), before);
    ::close(fd);
}

TEST(Sha256, DigestsWhatIsFedInPieces) {
    Expected<Sha256> h = Sha256::start();
    ASSERT_TRUE(h) << h.error().message;
    h->update("a", 1);
    h->update("bc", 2);
    EXPECT_EQ(h->finish_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace microvm::host
