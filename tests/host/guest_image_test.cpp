// The guest image (host/guest_image.hpp) is the program every VM runs first: it is found only
// where root or this user alone could have put it, its manifest names plain files of the image
// directory, and those files are of the manifest's sizes. Each attack must be refused.
#include "host/guest_image.hpp"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "guest_image_fixture.hpp"
#include "support/expectations.hpp"

namespace fs = std::filesystem;
using microvm::host::find_guest_image;

namespace {

class GuestImage : public guestimagetest::FakeImage {};

TEST_F(GuestImage, ATrustedWellFormedImageIsFound) {
    auto img = find_guest_image(dir_);
    ASSERT_TRUE(img) << img.error().message;
    EXPECT_EQ(img->dir, fs::canonical(dir_).string());
    EXPECT_EQ(img->kernel, img->dir + "/vmlinux");
    EXPECT_EQ(img->initramfs, img->dir + "/initramfs.cpio.lz4");
    EXPECT_EQ(img->key, "testkey");
    EXPECT_TRUE(img->shares_9p);
}

TEST_F(GuestImage, ADirectoryOfAnotherUserIsRefused) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "chown needs root");
    ASSERT_EQ(::chown(dir_.c_str(), 12345, 12345), 0);
    expect_refused("owned by uid 12345");
}

TEST_F(GuestImage, ADirectoryOthersMayWriteIsRefused) {
    ::chmod(dir_.c_str(), 0777);
    expect_refused("writable by others");
    ::chmod(dir_.c_str(), 0775);
    expect_refused("writable by its group");
    ::chmod(dir_.c_str(), 0755);
    ::chmod(base_.c_str(), 0777);  // the directory above: its entries could be swapped
    expect_refused("writable by others");
}

// As reported: $MICROVM_GUEST_IMAGE naming a directory in /tmp, mode 0777.
TEST_F(GuestImage, AnImageInTmpNamedByTheEnvironmentIsRefused) {
    char tmpl[] = "/tmp/guest-image-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    const std::string tmp = tmpl;
    for (const char* f : {"vmlinux", "initramfs.cpio.lz4", "manifest.json"}) {
        fs::copy_file(dir_ + "/" + f, tmp + "/" + f);
    }
    ::chmod(tmp.c_str(), 0777);
    const char* before = std::getenv("MICROVM_GUEST_IMAGE");
    const std::optional<std::string> saved = before ? std::optional<std::string>(before) : std::nullopt;
    ::setenv("MICROVM_GUEST_IMAGE", tmp.c_str(), 1);
    auto img = find_guest_image("");
    if (saved) ::setenv("MICROVM_GUEST_IMAGE", saved->c_str(), 1);
    else ::unsetenv("MICROVM_GUEST_IMAGE");
    fs::remove_all(tmp);
    ASSERT_FALSE(img) << "an image in /tmp (mode 0777) was accepted";
    EXPECT_EQ(img.error().kind, microvm::Failure::Kind::SetupError);
    EXPECT_NE(img.error().message.find("writable by others"), std::string::npos) << img.error().message;
}

TEST_F(GuestImage, AManifestOrBootFileOfAnotherUserOrWritableByOthersIsRefused) {
    MICROVM_REQUIRE("root", ::geteuid() == 0, "chown needs root");
    for (const char* f : {"manifest.json", "vmlinux", "initramfs.cpio.lz4"}) {
        const std::string path = dir_ + "/" + f;
        ASSERT_EQ(::chown(path.c_str(), 12345, 12345), 0);
        expect_refused(f == std::string("manifest.json") ? "manifest.json is not a regular file of root"
                                                         : "owned by uid 12345");
        ASSERT_EQ(::chown(path.c_str(), 0, 0), 0);
        ::chmod(path.c_str(), 0666);
        expect_refused(f == std::string("manifest.json") ? "manifest.json is not a regular file of root"
                                                         : "writable by others");
        ::chmod(path.c_str(), 0644);
    }
    auto img = find_guest_image(dir_);
    EXPECT_TRUE(img) << "control: " << img.error().message;
}

// The manifest names the files the VM boots: a path out of the image directory is refused even
// where a well-formed file lies there.
TEST_F(GuestImage, AManifestNamingAPathIsRefused) {
    // A file of the right size and digest just outside the image directory.
    const std::string outside = base_ + "/x";
    fs::copy_file(dir_ + "/initramfs.cpio.lz4", outside);
    for (const std::string& name : std::vector<std::string>{"../x", outside, "sub/x", "..", ".hidden", ""}) {
        nlohmann::json m = manifest_;
        m["files"]["initramfs"]["name"] = name;
        write_manifest(m);
        expect_refused("not a plain file name");
        m = manifest_;
        m["boot"]["kernel"] = name;
        m["files"][name] = m["files"]["vmlinux"];
        write_manifest(m);
        expect_refused("not a plain file name");
    }
}

TEST_F(GuestImage, BootFilesOfAnotherSizeThanTheManifestSaysAreRefused) {
    std::ofstream(dir_ + "/initramfs.cpio.lz4", std::ios::app) << "appended";
    expect_refused("bytes, the manifest says");
}

TEST_F(GuestImage, AManifestOfTheWrongShapeIsRefusedNotThrown) {
    for (const char* bad : {R"({"boot": {"kernel": 7}, "files": {}})",
                            R"({"boot": {}, "files": {"vmlinux": {"size": "12", "sha256": "x"}}})",
                            R"({"boot": {"shared_dirs_9p": "yes"}, "files": {}})",
                            R"({"boot": {}, "files": {"initramfs": {"name": 3}}})", R"([1, 2])",
                            "not json"}) {
        std::ofstream(dir_ + "/manifest.json", std::ios::trunc) << bad;
        expect_refused("manifest.json");
    }
    nlohmann::json m = manifest_;
    m["files"]["vmlinux"].erase("sha256");
    write_manifest(m);
    expect_refused("no size and SHA-256 of the kernel");
}

}  // namespace
