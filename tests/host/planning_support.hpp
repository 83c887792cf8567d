// Shared by the tests of sandbox-root planning: a scratch directory, and a guard for calls that
// a planted FIFO could block.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <string>

namespace microvm::host {

class TempDir {
  public:
    TempDir() {
        char tmpl[] = "/tmp/planning-test-XXXXXX";
        path_ = ::mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

// Runs f on another thread; a call still blocked after 2 s (in open(2) on fifo, which nobody
// opens for writing) fails the test and is released by opening the FIFO for writing, so the
// test ends either way.
template <class F>
auto promptly(const std::string& fifo, F f) {
    auto result = std::async(std::launch::async, f);
    using namespace std::chrono_literals;
    if (result.wait_for(2s) == std::future_status::timeout) {
        ADD_FAILURE() << "blocked for 2 s on the FIFO " << fifo;
        while (result.wait_for(10ms) == std::future_status::timeout) {
            int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
            if (fd >= 0) ::close(fd);
        }
    }
    return result.get();
}

}  // namespace microvm::host
