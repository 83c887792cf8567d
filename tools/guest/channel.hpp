// The agent's end of its channel to the host in channel mode: one bidirectional descriptor (a
// virtio-serial port, a vsock or Unix socket, or a socketpair end in tests) carrying frames both
// ways (microvm/agent_frame.hpp).
#pragma once

#include <string>
#include <string_view>

#include "host/unique_fd.hpp"
#include "microvm/agent_frame.hpp"

namespace microvm::guest {

class Channel {
  public:
    // Opens a device or socket path read-write; a terminal (hvc console port) is put in raw
    // mode so no byte is translated. Sets error on failure.
    static Channel open_path(const std::string& path, std::string& error);
    // Adopts an inherited descriptor.
    static Channel adopt(int fd);

    Channel(Channel&& other) noexcept = default;
    Channel& operator=(Channel&&) = delete;

    bool valid() const { return fd_.valid(); }
    int fd() const { return fd_.get(); }
    // One frame, written whole (blocking). False once the host end is gone.
    bool send(agent::FrameType type, std::string_view payload);
    bool send_bytes(std::string_view frames);
    // Reads what is available into decoder. False at EOF or on an error.
    bool receive(agent::FrameDecoder& decoder);

  private:
    explicit Channel(int fd) : fd_(fd) {}
    host::UniqueFd fd_;
};

}  // namespace microvm::guest
