// The host side of Firecracker's vsock (its "hybrid" vsock over a Unix socket): connect to the
// device's uds_path, send "CONNECT <port>\n", read "OK <host port>\n"; from then on the socket is
// a byte stream to whatever listens on that vsock port in the guest (the agent).
// Firecracker closes the connection instead of answering when nothing listens on the port.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "firecracker/fc_error.hpp"
#include "host/unique_fd.hpp"

namespace microvm::firecracker {

struct VsockStream {
    host::UniqueFd fd;       // non-blocking, close-on-exec: poll it with a deadline
    uint32_t host_port = 0;  // the port Firecracker assigned to the host end
};

// Connects to guest port `port` through the vsock socket at uds_path, within timeout.
// Errors (call "vsock CONNECT <port>"): Connect (no socket: the VM is not running), Refused
// (closed without an answer: nothing listens on the port yet), Timeout (no answer), Protocol
// (anything but "OK <digits>\n").
FcExpected<VsockStream> connect_vsock(const std::string& uds_path, uint32_t port,
                                      std::chrono::milliseconds timeout);

}  // namespace microvm::firecracker
