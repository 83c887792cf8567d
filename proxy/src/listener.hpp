// A listening socket bound to one execution: accepts clients and hands them to connections.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <string>

#include "core.hpp"

namespace microvm::proxy {

class Listener {
  public:
    // unix_path: the socket file to remove on close (empty for TCP); its identity (device,
    // inode) is checked first, so that a file put there since is left alone.
    Listener(Core& core, uint64_t id, std::shared_ptr<ExecutionState> execution, UniqueFd fd,
             std::string unix_path, bool tcp);
    ~Listener();
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    uint64_t id() const { return id_; }
    const ExecutionState& execution() const { return *execution_; }
    void on_readable();
    // After running out of descriptors accept pauses; the sweep resumes it at this time.
    Clock::time_point paused_until() const { return paused_until_; }
    void resume();

  private:
    void refuse_over_limit();

    Core& core_;
    const uint64_t id_;
    std::shared_ptr<ExecutionState> execution_;
    UniqueFd fd_;
    std::string unix_path_;
    struct stat unix_identity_ {};
    const bool tcp_;
    Clock::time_point paused_until_ = Clock::time_point::max();
};

// Creates, binds and listens: a Unix stream socket at path (mode applied), or a TCP socket on
// 127.0.0.1:port (the port bound is returned through port).
Expected<UniqueFd> listen_on_unix(const std::string& path, mode_t mode);
Expected<UniqueFd> listen_on_loopback(uint16_t& port);

}  // namespace microvm::proxy
