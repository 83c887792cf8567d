// The records of one execution's connection attempts: appended on the proxy's thread, taken on
// the host's when the execution ends (ExecutionMetadata::network_requests).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "rtfs/effects.hpp"

namespace microvm::proxy {

class RecordLog {
  public:
    // At most max_records are kept, so that a program opening connections in a loop cannot grow
    // the host's memory; the attempts beyond are counted.
    explicit RecordLog(size_t max_records) : max_records_(max_records) {}

    void add(rtfs::NetworkRequest record);
    // Moves out what was recorded so far. When attempts went unrecorded, a last record says how
    // many in its error (its `allowed` is unset: they were of both kinds).
    std::vector<rtfs::NetworkRequest> take();

  private:
    const size_t max_records_;
    std::mutex mutex_;
    std::vector<rtfs::NetworkRequest> records_;
    uint64_t unrecorded_ = 0;
};

}  // namespace microvm::proxy
