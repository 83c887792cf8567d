#include "host/local_route.hpp"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "host/unique_fd.hpp"

namespace microvm::host {

// Asked anew for each address: whatever the routing tables and rules say at that moment.
std::optional<int> route_type(int family, const void* address, int* error, unsigned interface) {
    *error = EIO;  // a reply that answers nothing
    const size_t size = family == AF_INET ? 4 : 16;
    struct {
        nlmsghdr header;
        rtmsg route;
        char attributes[RTA_SPACE(16) + RTA_SPACE(sizeof(unsigned))];
    } request{};
    request.header.nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg)) + RTA_SPACE(size) + (interface ? RTA_SPACE(sizeof interface) : 0);
    request.header.nlmsg_type = RTM_GETROUTE;
    request.header.nlmsg_flags = NLM_F_REQUEST;
    request.header.nlmsg_seq = 1;
    request.route.rtm_family = static_cast<unsigned char>(family);
    request.route.rtm_dst_len = static_cast<unsigned char>(size * 8);
    auto* destination = reinterpret_cast<rtattr*>(request.attributes);
    destination->rta_type = RTA_DST;
    destination->rta_len = static_cast<unsigned short>(RTA_LENGTH(size));
    std::memcpy(RTA_DATA(destination), address, size);
    if (interface) {
        auto* oif = reinterpret_cast<rtattr*>(request.attributes + RTA_SPACE(size));
        oif->rta_type = RTA_OIF;
        oif->rta_len = static_cast<unsigned short>(RTA_LENGTH(sizeof interface));
        std::memcpy(RTA_DATA(oif), &interface, sizeof interface);
    }

    host::UniqueFd nl(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!nl.valid()) {
        *error = errno;
        return std::nullopt;
    }
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(nl.get(), &request, request.header.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
        *error = errno;
        return std::nullopt;
    }
    alignas(nlmsghdr) char reply[8192];
    ssize_t n;
    do {
        n = ::recv(nl.get(), reply, sizeof reply, 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
        if (n < 0) *error = errno;
        return std::nullopt;
    }
    size_t left = static_cast<size_t>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(reply); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
        if (h->nlmsg_seq != 1) continue;
        if (h->nlmsg_type == NLMSG_ERROR) {
            const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
            if (e->error == -ENETUNREACH || e->error == -EHOSTUNREACH) return RTN_UNREACHABLE;
            *error = -e->error;
            return std::nullopt;
        }
        if (h->nlmsg_type == RTM_NEWROUTE) return static_cast<const rtmsg*>(NLMSG_DATA(h))->rtm_type;
    }
    return std::nullopt;
}

const char* delivered_here(int type) {
    switch (type) {
        case RTN_LOCAL:
            return "delivered to this host";
        case RTN_BROADCAST:
            return "a broadcast address of this host";
        case RTN_ANYCAST:
            return "an anycast address of this host";
        case RTN_MULTICAST:
            return "a multicast address";
        default:
            return nullptr;
    }
}

}  // namespace microvm::host
