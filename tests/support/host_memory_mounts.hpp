// The red team's memory file system attack on fs full (2026-12-06), for each provider's test: a
// tmpfs of mode 1777 (shared) and one of mode 0755 holding an others-writable open/ (closed),
// mounted over two directories the test made (root only), unmounted when it goes. The program
// writes a 1 MiB blob into the first and a line into the second: under Full the first goes to a
// private tmpfs of the run's, the second is refused (read-only), and neither is left on the
// host. The directories lie outside /tmp: on a host whose /tmp is a tmpfs the sandbox has one
// of its own there, and would not see them.
#pragma once

#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace testsupport {

class HostMemoryMounts {
  public:
    HostMemoryMounts(const std::string& shared, const std::string& closed) : shared_(shared), closed_(closed) {
        mounted_shared_ = ::mount("tmpfs", shared.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=1777") == 0;
        EXPECT_TRUE(mounted_shared_) << shared << ": " << std::strerror(errno);
        mounted_closed_ = ::mount("tmpfs", closed.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=0755") == 0;
        EXPECT_TRUE(mounted_closed_) << closed << ": " << std::strerror(errno);
        EXPECT_EQ(::mkdir(open_dir().c_str(), 0777), 0);
        EXPECT_EQ(::chmod(open_dir().c_str(), 01777), 0);
    }
    ~HostMemoryMounts() {
        if (mounted_shared_) ::umount2(shared_.c_str(), MNT_DETACH);
        if (mounted_closed_) ::umount2(closed_.c_str(), MNT_DETACH);
    }
    HostMemoryMounts(const HostMemoryMounts&) = delete;
    HostMemoryMounts& operator=(const HostMemoryMounts&) = delete;

    bool mounted() const { return mounted_shared_ && mounted_closed_; }
    std::string blob() const { return shared_ + "/blob"; }
    std::string other() const { return open_dir() + "/blob"; }
    // Prints the blob's size, then "refused" when the second write fails.
    std::string script() const {
        return "head -c 1048576 /dev/zero > " + blob() + " && wc -c < " + blob() + "; echo x > " + other() +
               " || echo refused";
    }
    static constexpr const char* kExpectedOutput = "1048576\nrefused\n";
    void expect_nothing_left() const {
        EXPECT_FALSE(std::filesystem::exists(blob())) << "a file the sandbox wrote is in the host's tmpfs of mode 1777";
        EXPECT_FALSE(std::filesystem::exists(other()))
            << "a file the sandbox wrote is in an others-writable directory of the host's tmpfs";
    }

  private:
    std::string open_dir() const { return closed_ + "/open"; }
    std::string shared_, closed_;
    bool mounted_shared_ = false, mounted_closed_ = false;
};

}  // namespace testsupport
