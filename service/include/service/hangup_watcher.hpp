// Notices a client that hangs up while its request is served (POLLRDHUP, POLLHUP, POLLERR on
// its connection) and cancels the request's source, which cancels a queued or running
// execution. One thread and one epoll set serve every connection of a front end: watching a
// request costs two epoll_ctl calls, not a thread of its own. Only hang-ups wake it; bytes of
// a next pipelined request do not.
#pragma once

#include <cstdint>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "host/unique_fd.hpp"
#include "microvm/cancel.hpp"

namespace microvm::service {

class HangupWatcher {
  public:
    HangupWatcher();  // throws std::system_error when the kernel refuses an epoll set or eventfd
    ~HangupWatcher();
    HangupWatcher(const HangupWatcher&) = delete;
    HangupWatcher& operator=(const HangupWatcher&) = delete;

    // While a Watch lives, a hang-up of its connection cancels its source; once its destructor
    // has returned, the source is never cancelled by the watcher.
    class Watch {
      public:
        Watch(Watch&& o) noexcept : owner_(o.owner_), id_(o.id_) { o.owner_ = nullptr; }
        Watch(const Watch&) = delete;
        Watch& operator=(const Watch&) = delete;
        Watch& operator=(Watch&&) = delete;
        ~Watch();

      private:
        friend class HangupWatcher;
        Watch(HangupWatcher* owner, uint64_t id) : owner_(owner), id_(id) {}
        HangupWatcher* owner_;
        uint64_t id_;
    };

    // One watch per connection at a time (epoll holds a descriptor once); throws
    // std::system_error when the kernel refuses it, so a request is never served unwatched.
    Watch watch(int fd, CancelSource gone);

  private:
    void loop();
    void unwatch(uint64_t id);

    struct Watched {
        int fd;
        CancelSource gone;
    };
    host::UniqueFd epoll_;
    host::UniqueFd stop_;  // eventfd: ends the thread
    std::mutex mu_;        // watched_ and every epoll_ctl: a hang-up is acted on under it
    std::unordered_map<uint64_t, Watched> watched_;
    uint64_t next_id_ = 1;  // 0 is the stop eventfd
    std::thread thread_;
};

}  // namespace microvm::service
