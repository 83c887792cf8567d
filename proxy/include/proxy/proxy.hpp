// The egress proxy (issue 12), embedded in the host process: HTTP CONNECT (TLS end to end, the
// ClientHello's server name checked against the CONNECT host), plain HTTP in absolute form (Host
// checked), and SOCKS5 with domain names, all on one listener. The proxy resolves names itself,
// refuses private, loopback, link-local and host addresses whatever a name resolves to, connects
// to the address it checked, enforces limits, and records every attempt.
//
// Use, per execution:
//
//     Proxy proxy;                       // or one shared by several executions
//     proxy.start();
//     Execution exec = *proxy.open({.policy = config.network_policy});
//     exec.listen_unix(run_dir + "/proxy.sock");   // a private dir; or adopt_listener(sandbox_fd)
//     ... the program runs, with HTTP(S)_PROXY / ALL_PROXY pointing at the listener ...
//     result.metadata.network_requests = exec.finish();   // closes, then takes the records
//
// Threads: one event-loop thread per Proxy (epoll, non-blocking sockets, splice(2) relaying).
// Relaying is I/O the kernel does (socket -> pipe -> socket, no copy through user space), so one
// thread keeps up with loopback rates (see bench/proxy) and needs no locks per connection; name
// resolution, the one step that blocks, runs on the resolver's threads. Every method of Proxy and
// Execution may be called from any thread; none waits on a client.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "microvm/error.hpp"
#include "microvm/policy.hpp"
#include "proxy/limits.hpp"
#include "proxy/resolver.hpp"
#include "rtfs/effects.hpp"

namespace microvm::proxy {

struct ProxyOptions {
    std::shared_ptr<Resolver> resolver;  // null: SystemResolver::shared()
    std::chrono::milliseconds resolve_timeout{5'000};
    // Lookups handed to the resolver at once, for all executions together, and of those the
    // most one execution holds. The rest wait in a queue per execution (lookup_queue.hpp). A
    // started lookup cannot be cancelled, so hostile executions can each keep their share busy
    // for a resolver timeout: with 16 and 2, it takes eight at once to hold every slot. Slots
    // not above the resolver's threads (SystemResolver: 16), or lookups would queue there again.
    size_t resolver_slots = 16;
    size_t resolver_share = 2;
    std::chrono::milliseconds connect_timeout{10'000};
    // The kernel buffer of each relay direction (a pipe): the bytes a connection holds in flight
    // each way, and what one splice(2) moves at most. Rounded up by the kernel to a power-of-two
    // number of pages; capped by /proc/sys/fs/pipe-max-size (1 MiB by default) and the user's
    // pipe quota, beyond which the kernel's default (64 KiB) stays. 1 MiB: bench/proxy measures
    // a third of the CPU per byte of 256 KiB pipes.
    size_t pipe_bytes = 1024 * 1024;
    // The send buffer of a client connected through a Unix socket: the bytes in flight to it.
    // TCP sizes its buffers itself; AF_UNIX keeps the system default (about 200 KiB), and every
    // time it fills the client and the proxy wake each other up: a bigger buffer moves more per
    // wakeup. Capped by /proc/sys/net/core/wmem_max.
    size_t unix_send_buffer_bytes = 1024 * 1024;
    // What the kernel holds of an upload whose server does not read: the bytes queued but not
    // sent toward the server (TCP_NOTSENT_LOWAT; what is in flight still follows the path) and
    // the receive buffer of each TCP client (SO_RCVBUF, doubled by the kernel). TCP's autotuning
    // took each to 4 MiB per connection, host memory no limit of the sandbox's covers (red team,
    // 2026-12-06: 228 MB for 32 connections of a run under --memory 32).
    size_t upload_buffer_bytes = 256 * 1024;
    // The receive buffer of the proxy's socket toward a server (SO_RCVBUF, doubled by the
    // kernel): what the kernel holds of a download the client does not read. TCP's autotuning
    // took it to 17 MiB per connection (red team, 2026-12-07: 532 MiB for the 31 connections of a
    // run under --memory 32); TCP_WINDOW_CLAMP does not hold against autotuning (Linux 6.1). A
    // fixed buffer bounds a download's rate to about the buffer per round trip (4 MiB: 300 Mbit/s
    // at 100 ms); loopback keeps its rate (bench/proxy). Set with SO_RCVBUFFORCE where the proxy
    // has CAP_NET_ADMIN; otherwise net.core.rmem_max caps it (208 KiB on a default kernel).
    size_t download_buffer_bytes = 2 * 1024 * 1024;
};

struct ExecutionOptions {
    NetworkPolicy policy;
    Limits limits;
    // TESTS ONLY: lets connections reach 127.0.0.0/8 and ::1, where test servers listen. The rest
    // of the address filter (private, link-local, the host's other addresses) stays in force.
    bool permit_loopback_targets = false;
};

class Core;
struct ExecutionState;

// One execution's part of a proxy: listeners bound to its policy and limits, and its records.
// Destroying it closes it.
class Execution {
  public:
    Execution(Execution&&) noexcept;
    Execution& operator=(Execution&&) noexcept;
    ~Execution();

    // Listens on a new Unix stream socket at path (which must not exist yet; its directory
    // should be private to the host), with the socket file's mode set to mode.
    Expected<void> listen_unix(const std::string& path, mode_t mode = 0600);
    // Listens on 127.0.0.1:port (0: a free port) and returns the port.
    Expected<uint16_t> listen_tcp(uint16_t port = 0);
    // Accepts on a listening TCP socket the caller made (taking ownership of fd, closed on
    // failure too): one bound inside a sandbox's network namespace, so that the sandbox's
    // 127.0.0.1:PORT is the proxy itself, with no forwarder in between (host/egress.hpp).
    Expected<void> adopt_listener(int fd);

    // Moves out the records so far: one per connection attempt that has ended.
    std::vector<rtfs::NetworkRequest> take_records();
    // Stops listening (the socket files are removed) and cuts the open connections (recorded,
    // with "execution ended"). Idempotent. Waits for nothing but the proxy's thread.
    void close();
    // close(), then take_records(): everything the execution did.
    std::vector<rtfs::NetworkRequest> finish();

  private:
    friend class Proxy;
    Execution(std::shared_ptr<Core> core, std::shared_ptr<ExecutionState> state);
    std::shared_ptr<Core> core_;
    std::shared_ptr<ExecutionState> state_;
};

class Proxy {
  public:
    // Throws std::system_error if the kernel refuses the event loop's descriptors.
    explicit Proxy(ProxyOptions options = {});
    ~Proxy();  // stop()
    Proxy(const Proxy&) = delete;
    Proxy& operator=(const Proxy&) = delete;

    // Starts the event-loop thread. Listeners opened before start accept once it runs.
    Expected<void> start();
    // Cuts every connection (recorded, "proxy stopped"), closes every listener and descriptor,
    // and joins the thread. Records stay takeable from the executions. A stopped proxy does not
    // start again.
    void stop();

    // A new execution context with its own policy, limits and records.
    Expected<Execution> open(ExecutionOptions options);

  private:
    std::shared_ptr<Core> core_;
};

}  // namespace microvm::proxy
