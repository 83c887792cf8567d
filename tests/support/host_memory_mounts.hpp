// The red team's memory file system attack on fs full (2026-12-06), for each provider's test: a
// noexec tmpfs of mode 1777 (shared) and one of mode 0755 holding an others-writable open/
// (closed), mounted over two directories the test made (root only), unmounted when it goes. The
// program writes a 1 MiB blob into the first and a line into the second: under Full the first
// goes to a private tmpfs of the run's, the second is refused (read-only), and neither is left on
// the host. A program it copies into the first does not run there: the private tmpfs is noexec as
// the host's is. The directories lie outside /tmp: on a host whose /tmp is a tmpfs the sandbox has one
// of its own there, and would not see them.
#pragma once

#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "microvm/result.hpp"
#include "support/result_text.hpp"

namespace testsupport {

class HostMemoryMounts {
  public:
    HostMemoryMounts(const std::string& shared, const std::string& closed) : shared_(shared), closed_(closed) {
        mounted_shared_ = ::mount("tmpfs", shared.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=16m,mode=1777") == 0;
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
    // Prints the blob's size, then "refused" when the second write fails, then "noexec" when a
    // copy of true in the shared tmpfs cannot run.
    std::string script() const {
        const std::string copy = shared_ + "/true";
        return "head -c 1048576 /dev/zero > " + blob() + " && wc -c < " + blob() + "; echo x > " + other() +
               " || echo refused; cp /bin/true " + copy + " && { " + copy + " && echo ran || echo noexec; }";
    }
    // The run of script() under fs full: the blob went to a tmpfs of the run's own, the line was
    // refused, the copy did not run, and nothing of either is on the host.
    void expect_nothing_left(const microvm::ExecutionResult& r) const {
        EXPECT_EQ(r.status, microvm::Status::Ok) << describe(r);
        EXPECT_EQ(r.metadata.stdout_data, "1048576\nrefused\nnoexec\n") << describe(r);
        EXPECT_NE(r.metadata.stderr_data.find("Permission denied"), std::string::npos) << describe(r);  // noexec's answer
        EXPECT_FALSE(std::filesystem::exists(blob())) << "a file the sandbox wrote is in the host's tmpfs of mode 1777";
        EXPECT_FALSE(std::filesystem::exists(other()))
            << "a file the sandbox wrote is in an others-writable directory of the host's tmpfs";
    }
    // A program copied into the shared tmpfs: under fs full the sandbox's instance there is
    // empty, and the run is refused up front naming the mount.
    std::string program_inside() const {
        const std::string path = shared_ + "/tool";
        std::filesystem::copy_file("/bin/true", path);
        return path;
    }
    void expect_refused_naming_the_mount(const microvm::ExecutionResult& r) const {
        ASSERT_TRUE(r.error.has_value()) << describe(r);
        EXPECT_EQ(r.error->reason, microvm::Reason::InvalidProgram) << describe(r);
        EXPECT_NE(r.error->message.find("lies in " + shared_), std::string::npos) << r.error->message;
    }

  private:
    std::string open_dir() const { return closed_ + "/open"; }
    std::string shared_, closed_;
    bool mounted_shared_ = false, mounted_closed_ = false;
};

}  // namespace testsupport
