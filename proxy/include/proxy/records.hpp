// The records of one execution's connection attempts: appended on the proxy's thread when each
// connection ends, taken on the host's when the execution ends
// (ExecutionMetadata::network_requests), in the order the attempts began.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

#include "rtfs/effects.hpp"

namespace microvm::proxy {

class RecordLog {
  public:
    // At most max_records are kept, so that a program opening connections in a loop cannot grow
    // the host's memory; the attempts beyond are counted.
    explicit RecordLog(size_t max_records) : max_records_(max_records) {}

    // `started` is when the attempt began: a connection kept open ends after the ones opened
    // behind it, and the records must still read in the order the program made them.
    void add(rtfs::NetworkRequest record,
             std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now());
    // Moves out what was recorded so far. When attempts went unrecorded, a last record says how
    // many in its error (its `allowed` is unset: they were of both kinds).
    std::vector<rtfs::NetworkRequest> take();

  private:
    const size_t max_records_;
    std::mutex mutex_;
    std::vector<std::pair<std::chrono::steady_clock::time_point, rtfs::NetworkRequest>> records_;
    uint64_t unrecorded_ = 0;
};

}  // namespace microvm::proxy
