// The records of one execution's connection attempts: appended on the proxy's thread when each
// connection ends, taken on the host's when the execution ends
// (ExecutionMetadata::network_requests), in the order the attempts began.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "rtfs/effects.hpp"

namespace microvm::proxy {

class RecordLog {
  public:
    // How far an attempt got: to a server (the proxy opened, or tried to open, a connection for
    // it: counted in Limits::max_connections), or no further than the proxy (refused, empty,
    // unresolvable).
    enum class Reached { Server, ProxyOnly };

    // Every attempt that reached a server is kept: there are at most max_connections of them,
    // and they are what carried the program's bytes. Of the others at most max_records are
    // kept, so that a program opening connections in a loop cannot grow the host's memory (nor
    // push its real connections out of the record); those beyond are counted by reason.
    explicit RecordLog(size_t max_records) : max_records_(max_records) {}

    // `started` is when the attempt began: a connection kept open ends after the ones opened
    // behind it, and the records must still read in the order the program made them.
    void add(rtfs::NetworkRequest record,
             std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now(),
             Reached reached = Reached::ProxyOnly);
    // Moves out what was recorded so far. When attempts went unrecorded, a last record per
    // reason says how many, and why they ended, in its error (its `allowed` is unset: it is a
    // count, not an attempt).
    std::vector<rtfs::NetworkRequest> take();

  private:
    // Unrecorded attempts of one reason: whether the proxy allowed them, and the rule.
    struct Unrecorded {
        bool allowed = false;
        std::string rule;
        uint64_t count = 0;
    };
    // Distinct reasons counted; those beyond share one count. Rules can carry the client's text
    // (a TLS server name), so their number is bounded like everything else.
    static constexpr size_t kMaxReasons = 16;

    const size_t max_records_;
    std::mutex mutex_;
    std::vector<std::pair<std::chrono::steady_clock::time_point, rtfs::NetworkRequest>> records_;
    size_t capped_ = 0;  // of records_, those that reached no server
    std::vector<Unrecorded> unrecorded_;
    uint64_t unrecorded_other_ = 0;  // of reasons beyond kMaxReasons
};

}  // namespace microvm::proxy
