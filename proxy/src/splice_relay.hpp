// One direction of a relayed connection: source socket -> pipe -> destination socket with
// splice(2). The bytes stay in the kernel (no copy through user space), and the pipe's capacity
// is all a direction holds in flight: the memory cap per connection.
#pragma once

#include <cstddef>
#include <cstdint>

#include "host/unique_fd.hpp"
#include "microvm/error.hpp"

namespace microvm::proxy {

class SpliceDirection {
  public:
    // Creates the pipe, asking the kernel for capacity bytes.
    Expected<void> open(size_t capacity);

    struct Step {
        uint64_t read = 0;       // bytes taken from the source
        uint64_t delivered = 0;  // bytes given to the destination
        bool more = false;       // stopped at the round limit with work left
    };
    // Moves bytes until both sides would block, the limits are reached, or a fixed number of
    // rounds have run (so that one busy connection cannot keep the loop from the others).
    // read_limit and deliver_limit bound this call.
    Step pump(int source, int destination, uint64_t read_limit, uint64_t deliver_limit);

    bool source_ended() const { return source_ended_; }
    uint64_t buffered() const { return buffered_; }
    int error() const { return error_; }  // errno of a failed splice, 0 if none
    bool failed_delivering() const { return failed_delivering_; }  // the error was the destination's

  private:
    host::UniqueFd read_end_;
    host::UniqueFd write_end_;
    size_t capacity_ = 0;
    uint64_t buffered_ = 0;
    bool source_ended_ = false;
    int error_ = 0;
    bool failed_delivering_ = false;
};

}  // namespace microvm::proxy
