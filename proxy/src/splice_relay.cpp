#include "splice_relay.hpp"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>

#include "host/sys_error.hpp"

namespace microvm::proxy {
namespace {

// 16 rounds of a 1 MiB pipe: up to 16 MiB per turn of one connection.
constexpr int kRounds = 16;

}  // namespace

Expected<void> SpliceDirection::open(size_t capacity) {
    RTFS_TRY(host::Pipe pipe, host::make_pipe(O_NONBLOCK));
    const int size = ::fcntl(pipe.write.get(), F_SETPIPE_SZ, static_cast<int>(capacity));
    // Refused (over /proc/sys/fs/pipe-max-size or the user's pipe quota): the default stays.
    capacity_ = static_cast<size_t>(size > 0 ? size : ::fcntl(pipe.write.get(), F_GETPIPE_SZ));
    if (capacity_ == 0) return host::sys_failure("fcntl(F_GETPIPE_SZ)", errno);
    read_end_ = std::move(pipe.read);
    write_end_ = std::move(pipe.write);
    return Ok{};
}

SpliceDirection::Step SpliceDirection::pump(int source, int destination, uint64_t read_limit,
                                            uint64_t deliver_limit) {
    Step step;
    constexpr unsigned kFlags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;
    for (int round = 0; round < kRounds; ++round) {
        bool progress = false;
        if (!source_ended_ && error_ == 0 && buffered_ < capacity_ && step.read < read_limit) {
            const size_t want = static_cast<size_t>(
                std::min<uint64_t>(capacity_ - buffered_, read_limit - step.read));
            const ssize_t n = ::splice(source, nullptr, write_end_.get(), nullptr, want, kFlags);
            if (n > 0) {
                buffered_ += static_cast<uint64_t>(n);
                step.read += static_cast<uint64_t>(n);
                progress = true;
            } else if (n == 0) {
                source_ended_ = true;
                progress = true;
            } else if (errno != EAGAIN && errno != EINTR) {
                error_ = errno;
            }
        }
        if (buffered_ > 0 && error_ == 0 && step.delivered < deliver_limit) {
            const size_t want = static_cast<size_t>(
                std::min<uint64_t>(buffered_, deliver_limit - step.delivered));
            const ssize_t n = ::splice(read_end_.get(), nullptr, destination, nullptr, want, kFlags);
            if (n > 0) {
                buffered_ -= static_cast<uint64_t>(n);
                step.delivered += static_cast<uint64_t>(n);
                progress = true;
            } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                error_ = errno;
                failed_delivering_ = true;
            }
        }
        if (!progress || error_ != 0) return step;
    }
    step.more = true;
    return step;
}

}  // namespace microvm::proxy
