#include "process/net.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include "host/interface_ioctl.hpp"

namespace microvm::process {

bool bring_up_loopback(ChildFailure& f) {
    const int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) return failed(f, ChildStep::kLoopback);
    const bool ok = host::set_interface_up(sock, "lo");
    host::close_keeping_errno(sock);
    return ok || failed(f, ChildStep::kLoopback);
}

bool hand_over_egress_listener(int to_host, uint16_t port, ChildFailure& f) {
    return host::send_tcp_listener(to_host, INADDR_LOOPBACK, port) || failed(f, ChildStep::kEgressListener);
}

}  // namespace microvm::process
