#include "daemon_peer.hpp"
#include "host/sys_error.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace microvm::cli {
namespace {

// An address as /proc/net/tcp{,6} prints it: each 32-bit word of the address in hex as the
// host holds it, then the port in hex.
struct Endpoint {
    std::array<uint32_t, 4> words{};
    size_t word_count = 0;
    unsigned port = 0;
    bool operator==(const Endpoint&) const = default;
};

std::optional<Endpoint> endpoint_of(const sockaddr_storage& ss) {
    Endpoint e;
    if (ss.ss_family == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
        std::memcpy(e.words.data(), &a->sin_addr, 4);
        e.word_count = 1;
        e.port = ntohs(a->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
        std::memcpy(e.words.data(), &a->sin6_addr, 16);
        e.word_count = 4;
        e.port = ntohs(a->sin6_port);
    } else {
        return std::nullopt;
    }
    return e;
}

std::optional<Endpoint> parse_endpoint(const std::string& text, size_t word_count) {
    const size_t colon = text.find(':');
    if (colon != word_count * 8) return std::nullopt;
    Endpoint e;
    e.word_count = word_count;
    for (size_t i = 0; i < word_count; ++i) {
        unsigned long w = 0;
        if (std::sscanf(text.substr(i * 8, 8).c_str(), "%8lx", &w) != 1) return std::nullopt;
        e.words[i] = static_cast<uint32_t>(w);
    }
    unsigned long port = 0;
    if (std::sscanf(text.c_str() + colon + 1, "%lx", &port) != 1) return std::nullopt;
    e.port = static_cast<unsigned>(port);
    return e;
}

// The address of an AF_INET or AF_INET6 socket address as inet_ntop writes it (curl's form).
std::string address_text(const sockaddr_storage& ss) {
    char text[INET6_ADDRSTRLEN] = "";
    const void* address = ss.ss_family == AF_INET
                              ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr)
                              : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr);
    ::inet_ntop(ss.ss_family, address, text, sizeof text);
    return text;
}

// An IPv4 endpoint as an IPv6 socket bound to it shows in /proc/net/tcp6 (::ffff:a.b.c.d).
Endpoint v4_mapped(const Endpoint& e) {
    Endpoint m;
    m.word_count = 4;
    m.port = e.port;
    const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    std::memcpy(m.words.data(), prefix, 12);
    m.words[3] = e.words[0];
    return m;
}

// The uid of the socket local_end -> remote_end in one table (/proc/net/tcp or tcp6), if any.
std::optional<uid_t> owner_in(const char* table_path, size_t word_count, const Endpoint& local_end,
                              const Endpoint& remote_end) {
    std::ifstream table(table_path);
    std::string line;
    std::getline(table, line);  // the header
    while (std::getline(table, line)) {
        std::istringstream fields(line);
        std::string slot, local_text, remote_text, state, queues, timer, retransmits;
        unsigned long uid = 0;
        if (!(fields >> slot >> local_text >> remote_text >> state >> queues >> timer >> retransmits >> uid)) continue;
        const auto l = parse_endpoint(local_text, word_count), r = parse_endpoint(remote_text, word_count);
        if (l && r && *l == local_end && *r == remote_end) return static_cast<uid_t>(uid);
    }
    return std::nullopt;
}

}  // namespace

Expected<uid_t> daemon_socket_owner(int fd) {
    sockaddr_storage local{}, peer{};
    socklen_t local_len = sizeof local, peer_len = sizeof peer;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0 ||
        ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0)
        return fail(Failure::Kind::InvalidInput, std::string("cannot tell who serves the connection: ") + host::errno_text(errno));
    if (local.ss_family == AF_UNIX) {
        ucred cred{};
        socklen_t len = sizeof cred;
        if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
            return fail(Failure::Kind::InvalidInput, std::string("cannot tell who serves the socket: ") + host::errno_text(errno));
        return cred.uid;
    }
    const std::optional<Endpoint> ours = endpoint_of(local), theirs = endpoint_of(peer);
    if (!ours || !theirs) return fail(Failure::Kind::InvalidInput, "cannot tell who serves the connection: not TCP");
    // The daemon's end of this very connection, accepted or waiting to be: by its exact
    // addresses, never a listener's (another user's socket may take the connection while a
    // listener of root's sits on the same port), in the table of its own family (an IPv6 socket
    // serves IPv4 clients as ::ffff:a.b.c.d).
    std::optional<uid_t> owner;
    if (local.ss_family == AF_INET) {
        owner = owner_in("/proc/net/tcp", 1, *theirs, *ours);
        if (!owner) owner = owner_in("/proc/net/tcp6", 4, v4_mapped(*theirs), v4_mapped(*ours));
    } else {
        owner = owner_in("/proc/net/tcp6", 4, *theirs, *ours);
    }
    if (owner) return *owner;
    return fail(Failure::Kind::InvalidInput,
                "cannot tell who serves port " + std::to_string(theirs->port) + ": its socket is not in /proc/net/tcp or tcp6");
}

int connected_socket(const std::vector<int>& sockets, bool unix_address, const char* peer_ip, int peer_port,
                     const char* local_ip, int local_port) {
    for (int fd : sockets) {
        sockaddr_storage local{}, peer{};
        socklen_t local_len = sizeof local, peer_len = sizeof peer;
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0 ||
            ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0)
            continue;
        if (local.ss_family == AF_UNIX) {
            if (unix_address) return fd;  // unix: one socket, no addresses to match
            continue;
        }
        if (unix_address) continue;
        const std::optional<Endpoint> l = endpoint_of(local), p = endpoint_of(peer);
        if (!l || !p || static_cast<int>(l->port) != local_port || static_cast<int>(p->port) != peer_port) continue;
        if (local_ip && peer_ip && local_ip == address_text(local) && peer_ip == address_text(peer)) return fd;
    }
    return -1;
}

}  // namespace microvm::cli
