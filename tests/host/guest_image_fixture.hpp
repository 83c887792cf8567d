// A small fake guest image (host/guest_image.hpp) in a directory the host may trust: a kernel and
// an initramfs of a few bytes and a manifest with their sizes and SHA-256, as vm/image/build.sh
// writes it. Nothing boots it; the tests check what is found and verified.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "host/guest_image.hpp"
#include "host/sha256.hpp"
#include "support/trusted_temp.hpp"

namespace guestimagetest {

class FakeImage : public ::testing::Test {
  protected:
    void SetUp() override {
        base_ = (testsupport::trusted_temp_base() / "guest-image-test-XXXXXX").string();
        ASSERT_NE(::mkdtemp(base_.data()), nullptr);
        ::chmod(base_.c_str(), 0755);
        dir_ = base_ + "/img";
        ASSERT_EQ(::mkdir(dir_.c_str(), 0755), 0);
        write(dir_ + "/vmlinux", kernel_);
        write(dir_ + "/initramfs.cpio.lz4", initramfs_);
        kernel_sha_ = microvm::host::sha256_hex(kernel_).value();
        initramfs_sha_ = microvm::host::sha256_hex(initramfs_).value();
        manifest_ = {
            {"format", 1},
            {"key", "testkey"},
            {"kernel", {{"release", "6.1-test"}}},
            {"boot", {{"kernel", "vmlinux"}, {"microvm_acpi", "off"}, {"shared_dirs_9p", true}}},
            {"files",
             {{"vmlinux", {{"size", kernel_.size()}, {"sha256", kernel_sha_}}},
              {"initramfs",
               {{"name", "initramfs.cpio.lz4"},
                {"file", {{"size", initramfs_.size()}, {"sha256", initramfs_sha_}}}}}}}};
        write_manifest(manifest_);
    }
    void TearDown() override {
        std::error_code ec;
        std::filesystem::remove_all(base_, ec);
    }

    static void write(const std::string& path, const std::string& text) {
        std::filesystem::remove(path);
        std::ofstream(path, std::ios::binary) << text;
        ::chmod(path.c_str(), 0644);
    }
    void write_manifest(const nlohmann::json& m) const { write(dir_ + "/manifest.json", m.dump()); }
    // Changes one byte of the file in place (its size stays).
    static void flip_a_byte(const std::string& path) {
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekg(3);
        const char c = static_cast<char>(f.get());
        f.seekp(3);
        f.put(static_cast<char>(~c));
    }
    void expect_refused(const std::string& fragment) const {
        auto img = microvm::host::find_guest_image(dir_);
        ASSERT_FALSE(img) << "accepted; expected a refusal with \"" << fragment << "\"";
        EXPECT_EQ(img.error().kind, microvm::Failure::Kind::SetupError);
        EXPECT_NE(img.error().message.find(fragment), std::string::npos) << img.error().message;
    }

    std::string base_, dir_;
    const std::string kernel_ = "a fake kernel, never booted";
    const std::string initramfs_ = "a fake initramfs, never unpacked";
    std::string kernel_sha_, initramfs_sha_;
    nlohmann::json manifest_;
};

}  // namespace guestimagetest
