// One client connection, from accept to close: the handshake (HTTP CONNECT, absolute-form HTTP
// or SOCKS5, told apart by the first byte), the judgement (policy, limits, resolution, address
// filter), the connection to the server, the inspection of a tunnel's first bytes (the TLS
// ClientHello's server name; SOCKS5 also lets an SSH client through), the relay, and the record.
// Runs on the loop thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core.hpp"
#include "microvm/policy.hpp"
#include "proxy/http_request.hpp"
#include "proxy/socks5.hpp"
#include "proxy/ssh_start.hpp"
#include "proxy/tls_client_hello.hpp"
#include "splice_relay.hpp"

namespace microvm::proxy {

class Connection {
  public:
    Connection(Core& core, uint64_t id, std::shared_ptr<ExecutionState> execution, UniqueFd client);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    uint64_t id() const { return id_; }
    const ExecutionState& execution() const { return *execution_; }
    Clock::time_point deadline() const { return deadline_; }

    void on_event(bool server_side, uint32_t events);
    void on_resolved(Resolution resolution);
    void on_deadline();
    void on_ready() {
        ready_queued_ = false;
        advance();
    }
    // Ends the connection now (execution ended, proxy stopping), recording why: a cut.
    void abort(const std::string& why) { end(why, Ending::Cut); }

  private:
    enum class Phase {
        Handshake,   // reading the request head or the SOCKS5 greeting and request
        Resolving,
        Connecting,
        Inspecting,  // tunnel granted: reading the client's first bytes (TLS ClientHello, SSH)
        Relaying,
        Refusing,    // sending a refusal (or after an early answer), then draining the client until it closes
        Done,
    };
    enum class Protocol { Unknown, Connect, Forward, Socks5 };

    void advance();
    void handshake();
    void http_handshake();
    void socks_handshake();
    void begin(const std::string& host, uint16_t port);
    void judge(std::vector<SocketAddress> addresses);
    void connect_next();
    void check_connect();
    void on_connected();
    void inspect();
    void socks_non_tls();
    void refuse_socks_tunnel(const std::string& why);
    void start_relay();
    void relay();
    void refusing();
    void drain_after_early_answer();

    // Refusals. refuse() answers in the client's protocol (HTTP status, SOCKS5 reply);
    // refuse_tunnel() is for a tunnel already granted (an alert for a TLS client, else nothing).
    void refuse(int http_status, socks5::Reply socks_reply, const std::string& rule,
                const std::string& detail = {});
    void refuse_tunnel(const std::string& rule, const std::string& detail, bool send_alert,
                       tls::Alert alert = tls::Alert::AccessDenied);
    // The proxy let it through but the server could not be reached: allowed stays true.
    void fail_upstream(int http_status, socks5::Reply socks_reply, const std::string& error);
    void enter_refusing(std::string response);
    // How a connection ends, which decides how its sockets are closed. A plain close leaves the
    // bytes still on their way to a peer that does not read in an orphaned socket the kernel
    // keeps for minutes (red team, 2026-12-06: 400 MB for 5 min 45 s after one run); a reset
    // frees them, and its peer still reads what it had received.
    enum class Ending {
        Completed,  // as its protocol does: closed, the last of a response still reaching the
                    // client; a forwarded request's server (whose response was read) is reset
                    // if the rest of an upload is still queued for it
        Failed,     // refused, failed, or reset by a peer: a socket with bytes on their way is reset
        Cut,        // by the proxy (idle, the byte limit, the execution's end): both are reset,
                    // so that neither peer takes what it got for the whole
    };
    void end(const std::string& error, Ending how);
    void finish(const std::string& error = {}) { end(error, Ending::Failed); }
    void cut(const std::string& why) { end(why, Ending::Cut); }
    // Adds the record to the execution's log, once: when the outcome is known (a refusal is
    // recorded when it is sent, not when the client has read it).
    void record();

    // Socket I/O. read_client reads into in_ up to limit bytes in all; false on a hard error.
    // flush writes up to allowance bytes of out to fd until it would block or fails: what it
    // wrote either way (bytes sent before a reset are counted too), and whether it failed.
    struct Flushed {
        uint64_t written = 0;
        bool failed = false;
        int error = 0;  // failed: send's errno
        explicit operator bool() const { return !failed; }
    };
    bool read_client(size_t limit);
    Flushed flush(int fd, std::string& out, uint64_t allowance);
    void set_deadline(Clock::time_point when);
    void peek_status();
    uint64_t bytes_left() const { return execution_->bytes_left(); }
    // Another turn after the other connections' (once queued however often asked).
    void mark_ready();
    // Bytes the proxy holds for the server: its own and those in the upload's pipe.
    bool held_for_server() const { return !to_server_.empty() || up_.buffered() > 0; }

    Core& core_;
    const uint64_t id_;
    std::shared_ptr<ExecutionState> execution_;
    const Limits& limits_;
    UniqueFd client_;
    UniqueFd server_;
    Phase phase_ = Phase::Handshake;
    Protocol protocol_ = Protocol::Unknown;
    bool socks_greeted_ = false;
    bool client_ended_ = false;    // read EOF from the client
    bool client_shut_ = false;     // we shut down our writing side towards the client
    bool server_shut_ = false;     // we shut down our writing side towards the server
    bool status_peeked_ = false;
    bool first_bytes_seen_ = false;  // Inspecting: the client has sent into the tunnel
    size_t drained_ = 0;           // Refusing: bytes read and dropped
    bool after_early_answer_ = false;  // Refusing: an early answer, not a refusal, on its way
    bool ready_queued_ = false;
    size_t head_scanned_ = 0;      // Handshake: bytes of in_ the head parser has seen

    std::string in_;               // client bytes read before the relay (head, ClientHello)
    std::string to_client_;        // the proxy's own replies
    std::string to_server_;        // forwarded head, body start, first tunnel bytes
    uint64_t body_left_ = 0;       // Forward: request body bytes still to relay

    HttpRequest request_;
    CanonicalHost host_;
    uint16_t port_ = 0;
    std::string name_rule_;                    // the policy's rule for the name
    std::vector<SocketAddress> candidates_;    // addresses that passed, in resolver order
    std::vector<std::string> candidate_rules_; // the address rule of each (may be empty)
    size_t next_candidate_ = 0;
    bool lookup_counted_ = false;  // the name lookup took this attempt's place in connections_made
    int last_connect_error_ = 0;

    SpliceDirection up_;    // client -> server
    SpliceDirection down_;  // server -> client

    Clock::time_point started_;
    Clock::time_point deadline_;
    rtfs::NetworkRequest record_;
    bool recorded_ = false;
};

}  // namespace microvm::proxy
