// host::verify_guest_image: before a VM boots the image, its kernel and initramfs must hold what
// the manifest says (SHA-256). A file changed since it verified is read again, never taken on
// the earlier verdict.
#include <gtest/gtest.h>

#include "guest_image_fixture.hpp"
#include "host/guest_image.hpp"

using microvm::host::find_guest_image;
using microvm::host::verify_guest_image;

namespace {

class GuestImageDigest : public guestimagetest::FakeImage {};

TEST_F(GuestImageDigest, FilesUnlikeTheManifestAreRefused) {
    auto img = find_guest_image(dir_);
    ASSERT_TRUE(img) << img.error().message;
    EXPECT_EQ(img->kernel_size, kernel_.size());
    EXPECT_EQ(img->kernel_sha256, kernel_sha_);
    EXPECT_EQ(img->initramfs_size, initramfs_.size());
    EXPECT_EQ(img->initramfs_sha256, initramfs_sha_);
    auto ok = verify_guest_image(*img);
    EXPECT_TRUE(ok) << "control: " << ok.error().message;

    for (const std::string& file : {img->initramfs, img->kernel}) {
        flip_a_byte(file);  // same size: only the digest tells
        auto found = find_guest_image(dir_);
        ASSERT_TRUE(found) << found.error().message;
        auto bad = verify_guest_image(*found);
        ASSERT_FALSE(bad) << file << " verified although it differs from the manifest";
        EXPECT_EQ(bad.error().kind, microvm::Failure::Kind::SetupError);
        EXPECT_NE(bad.error().message.find(file), std::string::npos) << bad.error().message;
        EXPECT_NE(bad.error().message.find("SHA-256"), std::string::npos) << bad.error().message;
        flip_a_byte(file);  // as it was: verifies again
        ok = verify_guest_image(*img);
        EXPECT_TRUE(ok) << ok.error().message;
    }
}

TEST_F(GuestImageDigest, AFileChangedAfterItWasFoundIsRefused) {
    auto img = find_guest_image(dir_);
    ASSERT_TRUE(img) << img.error().message;
    ASSERT_TRUE(verify_guest_image(*img));  // remembered as verified ...
    write(img->initramfs, initramfs_ + "more");  // ... then replaced by another size
    auto bad = verify_guest_image(*img);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("bytes, the manifest says"), std::string::npos) << bad.error().message;
}

}  // namespace
