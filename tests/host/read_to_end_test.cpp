// host::read_to_end: whole files and pipes, the cap exact (a file at the cap is read, one byte
// more is refused), files read in place by their size.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "host/unique_fd.hpp"

namespace microvm::host {
namespace {

UniqueFd file_with(const std::string& text) {
    UniqueFd fd(::memfd_create("read-to-end", MFD_CLOEXEC));
    EXPECT_EQ(::write(fd.get(), text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::lseek(fd.get(), 0, SEEK_SET);
    return fd;
}

TEST(ReadToEnd, ReadsAWholeFileAndHoldsTheCapExactly) {
    const std::string text(3 * 1000 * 1000 + 7, 'x');
    EXPECT_EQ(read_to_end(file_with(text).get()), text);
    EXPECT_EQ(read_to_end(file_with(text).get(), text.size()), text);
    EXPECT_EQ(read_to_end(file_with(text).get(), text.size() - 1), std::nullopt);
    EXPECT_EQ(read_to_end(file_with("").get(), 0), std::string());
    EXPECT_EQ(read_to_end(file_with("a").get(), 0), std::nullopt);
}

TEST(ReadToEnd, ReadsAPipeToItsEndAndHoldsTheCap) {
    const std::string text(200 * 1000, 'p');
    for (size_t cap : {text.size(), text.size() - 1}) {
        auto pipe = make_pipe();
        ASSERT_TRUE(pipe);
        std::thread writer([&] {
            size_t at = 0;
            while (at < text.size()) {
                ssize_t n = ::write(pipe->write.get(), text.data() + at, text.size() - at);
                if (n <= 0) break;
                at += static_cast<size_t>(n);
            }
            pipe->write.reset();
        });
        auto got = read_to_end(pipe->read.get(), cap);
        pipe->read.reset();  // a refused read stops reading: the writer sees EPIPE, not a hang
        writer.join();
        if (cap == text.size()) {
            EXPECT_EQ(got, text);
        } else {
            EXPECT_EQ(got, std::nullopt);
        }
    }
}

}  // namespace
}  // namespace microvm::host
