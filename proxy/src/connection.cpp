#include "connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "host/sys_error.hpp"
#include "proxy/decision.hpp"

namespace microvm::proxy {
namespace {

// True when bytes written to fd are still in its send queue (not yet taken by the peer).
bool send_queued(const UniqueFd& fd) {
    int queued = 0;
    return ::ioctl(fd.get(), SIOCOUTQ, &queued) == 0 && queued > 0;
}

// True when bytes the peer sent wait unread in fd's receive queue: closing it would be a reset.
bool unread(const UniqueFd& fd) {
    int waiting = 0;
    return ::ioctl(fd.get(), FIONREAD, &waiting) == 0 && waiting > 0;
}

// Makes the close of fd a reset (RST) when bytes are queued in its send buffer or held by the
// proxy for it (held; true: whatever is queued).
void reset_if_unsent(const UniqueFd& fd, bool held) {
    if (!fd.valid()) return;
    if (!held && !send_queued(fd)) return;
    const linger reset{1, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
}

// How a relay that failed on one side is recorded: "reset by the server", say (error: the
// socket's errno, 0 for a hang-up without one).
std::string peer_failure(const char* side, int error) {
    if (error == 0) return std::string("the ") + side + " hung up";
    if (error == ECONNRESET || error == EPIPE) return std::string("reset by the ") + side;
    return std::string("the ") + side + "'s side failed: " + std::strerror(error);
}

// The same for a relay direction that failed: up reads the client and delivers to the server.
std::string direction_failure(const SpliceDirection& failed, bool up) {
    return peer_failure(up == failed.failed_delivering() ? "server" : "client", failed.error());
}

// Refusing: how long the client has to read the refusal (or an early answer), and how much it may
// still send meanwhile; after an early answer, more while the answer is still queued toward the
// client, within the execution's byte limit.
constexpr auto kLinger = std::chrono::seconds(2);
constexpr size_t kMaxDrain = 64 * 1024;
constexpr size_t kReadChunk = 16 * 1024;
constexpr uint32_t kEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
constexpr uint64_t kUnlimited = UINT64_MAX;
constexpr char kTlsHandshakeRecord = 0x16;

std::string duration_text(std::chrono::milliseconds d) {
    if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
    return std::to_string(d.count()) + " ms";
}

constexpr size_t kMaxDetailBytes = 1024;

// Text from the client, fit for a record: printable ASCII, bounded.
std::string printable(std::string_view s, size_t max = 255) {
    std::string out;
    for (char c : s.substr(0, max)) {
        auto u = static_cast<unsigned char>(c);
        out += u >= 0x20 && u < 0x7f ? c : '?';
    }
    return out;
}

socks5::Reply socks_reply_for(int err) {
    switch (err) {
        case ECONNREFUSED: return socks5::Reply::ConnectionRefused;
        case ENETUNREACH: return socks5::Reply::NetworkUnreachable;
        case EHOSTUNREACH: return socks5::Reply::HostUnreachable;
        case ETIMEDOUT: return socks5::Reply::TtlExpired;
        default: return socks5::Reply::GeneralFailure;
    }
}

}  // namespace

Connection::Connection(Core& core, uint64_t id, std::shared_ptr<ExecutionState> execution, UniqueFd client)
    : core_(core), id_(id), execution_(std::move(execution)), limits_(execution_->options.limits),
      client_(std::move(client)), started_(Clock::now()) {
    ++execution_->open;
    // Edge-triggered: every handler reads and writes until the kernel says EAGAIN.
    core_.watch(client_.get(), Core::key(id_, false), kEvents);
    set_deadline(started_ + limits_.handshake_timeout);
}

Connection::~Connection() = default;

void Connection::on_event(bool server_side, uint32_t events) {
    if (phase_ == Phase::Done) return;
    if (server_side && phase_ == Phase::Connecting) {
        check_connect();
        return;
    }
    // A forwarded request's client is no longer read once its body is relayed: a hang-up is
    // noticed here, not by a read.
    if (!server_side && protocol_ == Protocol::Forward && phase_ == Phase::Relaying &&
        (events & (EPOLLHUP | EPOLLERR))) {
        int error = 0;
        socklen_t size = sizeof error;
        ::getsockopt(client_.get(), SOL_SOCKET, SO_ERROR, &error, &size);
        finish(peer_failure("client", error));
        return;
    }
    advance();
}

void Connection::advance() {
    switch (phase_) {
        case Phase::Handshake: handshake(); break;
        case Phase::Resolving:
        case Phase::Connecting: break;  // client bytes wait in the socket meanwhile
        case Phase::Inspecting: inspect(); break;
        case Phase::Relaying: relay(); break;
        case Phase::Refusing: refusing(); break;
        case Phase::Done: break;
    }
}

void Connection::set_deadline(Clock::time_point when) {
    deadline_ = when;
    core_.note_deadline(when);
}

bool Connection::read_client(size_t limit) {
    char buf[kReadChunk];
    while (in_.size() < limit && !client_ended_) {
        const ssize_t n = ::recv(client_.get(), buf, std::min(sizeof buf, limit - in_.size()), 0);
        if (n > 0) {
            in_.append(buf, static_cast<size_t>(n));
        } else if (n == 0) {
            client_ended_ = true;
        } else if (errno != EINTR) {
            return errno == EAGAIN || errno == EWOULDBLOCK;
        }
    }
    return true;
}

Connection::Flushed Connection::flush(int fd, std::string& out, uint64_t allowance) {
    uint64_t written = 0;
    bool failed = false;
    int error = 0;
    while (!out.empty() && written < allowance) {
        const size_t want = static_cast<size_t>(std::min<uint64_t>(out.size(), allowance - written));
        const ssize_t n = ::send(fd, out.data(), want, MSG_NOSIGNAL);
        if (n > 0) {
            out.erase(0, static_cast<size_t>(n));
            written += static_cast<uint64_t>(n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            failed = true;
            error = n < 0 ? errno : 0;
            break;
        }
    }
    if (out.empty() && out.capacity() > 1024) std::string().swap(out);
    return {written, failed, error};
}

// --- handshake -------------------------------------------------------------------------------

void Connection::handshake() {
    if (!read_client(limits_.max_header_bytes)) {
        finish("the client connection failed: " + host::errno_text(errno));
        return;
    }
    if (in_.empty()) {
        if (client_ended_) finish("the client closed without a request");
        return;
    }
    if (protocol_ == Protocol::Unknown && static_cast<unsigned char>(in_[0]) == socks5::kVersion) {
        protocol_ = Protocol::Socks5;
    }
    if (protocol_ == Protocol::Socks5) {
        socks_handshake();
    } else if (in_[0] == 0x04) {  // SOCKS4: answer in its own terms, "request rejected"
        record_.method = "SOCKS4";
        refuse(400, socks5::Reply::GeneralFailure, "malformed request", "SOCKS4 is not supported (use SOCKS5)");
    } else {
        http_handshake();
    }
}

void Connection::http_handshake() {
    // The head is parsed again only when new bytes end a line or hold a control byte (the only
    // things a partial head is refused for), at its limit, or when the client ended: trickled a
    // byte at a time, each byte parsed the whole head again, 171 ms of the proxy's one thread
    // for a 16 KB head (a review, 2026-12-06). The first bytes are parsed as they come.
    const bool first = head_scanned_ == 0;
    const bool telling = std::any_of(in_.begin() + static_cast<std::ptrdiff_t>(head_scanned_), in_.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;  // '\n' and '\r' among them
    });
    head_scanned_ = in_.size();
    if (!first && !telling && in_.size() < limits_.max_header_bytes && !client_ended_) return;
    HttpParse p = parse_http_request(in_, limits_.max_header_bytes);
    if (p.state == HttpParse::State::Incomplete) {
        if (client_ended_) {
            refuse(400, socks5::Reply::GeneralFailure, "malformed request",
                   "the client ended its side before the request head was complete");
        }
        return;
    }
    if (p.state == HttpParse::State::Failed) {
        refuse(p.status, socks5::Reply::GeneralFailure, "malformed request", p.message);
        return;
    }
    request_ = std::move(p.request);
    in_.erase(0, request_.head_bytes);
    record_.method = request_.method;
    record_.url = printable(request_.url);
    protocol_ = request_.form == HttpRequest::Form::Connect ? Protocol::Connect : Protocol::Forward;
    // A URL host that is no host at all is refused by begin() as such, whatever the Host says.
    if (protocol_ == Protocol::Forward && canonical_host(request_.host)) {
        if (auto mismatch = host_header_mismatch(request_)) {
            record_.host = printable(request_.host);
            record_.port = request_.port;
            refuse(403, socks5::Reply::NotAllowed, "Host header mismatch", *mismatch);
            return;
        }
    }
    begin(request_.host, request_.port);
}

void Connection::socks_handshake() {
    if (!socks_greeted_) {
        socks5::Greeting g = socks5::parse_greeting(in_);
        if (g.state == socks5::Greeting::State::Incomplete) {
            if (client_ended_) refuse(400, socks5::Reply::GeneralFailure, "malformed request", "incomplete SOCKS5 greeting");
            return;
        }
        record_.method = "SOCKS5";
        if (g.state == socks5::Greeting::State::Failed) {
            refuse(400, socks5::Reply::GeneralFailure, "malformed request", g.message);
            return;
        }
        if (!g.no_auth_offered) {
            to_client_ = socks5::method_reply(false);
            refuse(400, socks5::Reply::GeneralFailure, "malformed request",
                   "the SOCKS5 client does not offer 'no authentication'");
            return;
        }
        to_client_ = socks5::method_reply(true);
        in_.erase(0, g.consumed);
        socks_greeted_ = true;
    }
    socks5::Request r = socks5::parse_request(in_);
    if (r.state == socks5::Request::State::Incomplete) {
        if (client_ended_) {
            refuse(400, socks5::Reply::GeneralFailure, "malformed request", "incomplete SOCKS5 request");
            return;
        }
        if (!flush(client_.get(), to_client_, kUnlimited)) finish("the client connection failed");
        return;
    }
    // The target as sent: an IPv6 address in brackets (unless the name sent has them already).
    const std::string shown = printable(r.host);
    const bool bracket = shown.find(':') != std::string::npos && !shown.starts_with('[');
    record_.url = (bracket ? "[" + shown + "]" : shown) + ":" + std::to_string(r.port);
    if (r.state == socks5::Request::State::Failed) {
        if (!r.host.empty()) {  // a whole request refused (BIND, UDP, port 0): with its target
            record_.host = shown;
            record_.port = r.port;
        } else {
            record_.url.clear();
        }
        refuse(400, r.reply, "malformed request", r.message);
        return;
    }
    in_.erase(0, r.consumed);
    begin(r.host, r.port);
}

// --- judgement and connection ----------------------------------------------------------------

void Connection::begin(const std::string& host, uint16_t port) {
    port_ = port;
    record_.port = port;
    auto canonical = canonical_host(host);
    if (!canonical) {
        record_.host = printable(host);
        refuse(400, socks5::Reply::NotAllowed, "not a valid host name or IP address");
        return;
    }
    host_ = std::move(*canonical);
    record_.host = host_.text;
    const NetworkDecision decision = execution_->options.policy.decide(host_.text, port);
    if (!decision.allowed) {
        refuse(403, socks5::Reply::NotAllowed, decision.rule);
        return;
    }
    name_rule_ = decision.rule;
    // Allowed by the policy from here: a connection cut while it resolves or connects is
    // recorded so, with the rule, not as "no complete request" (red team, 2026-12-06).
    record_.allowed = true;
    record_.rule = name_rule_;
    if (execution_->connections_made >= limits_.max_connections) {
        refuse(429, socks5::Reply::NotAllowed,
               "limit: " + std::to_string(limits_.max_connections) + " connections per execution");
        return;
    }
    if (bytes_left() == 0) {
        refuse(429, socks5::Reply::NotAllowed,
               "limit: " + std::to_string(limits_.max_bytes) + " bytes per execution");
        return;
    }
    if (host_.kind != CanonicalHost::Kind::Name) {
        judge({*SocketAddress::from_ip(host_.text, port)});
        return;
    }
    if (!core_.lookups().submit(execution_, id_, host_.text)) {
        refuse(429, socks5::Reply::NotAllowed,
               "limit: " + std::to_string(limits_.max_lookups) + " name lookups at once per execution");
        return;
    }
    // The lookup counts as the connection it is for, whether or not one follows: names that do
    // not resolve, or resolve to refused addresses, carried data out to their name servers
    // without bound (red team, 2026-12-07: 1,120 lookups under a limit of 3 connections).
    ++execution_->connections_made;
    lookup_counted_ = true;
    phase_ = Phase::Resolving;
    set_deadline(Clock::now() + core_.options().resolve_timeout);
}

void Connection::on_resolved(Resolution resolution) {
    if (phase_ != Phase::Resolving) return;
    if (resolution.addresses.empty()) {
        fail_upstream(502, socks5::Reply::HostUnreachable,
                      resolution.error.empty() ? "cannot resolve " + host_.text : resolution.error);
        return;
    }
    for (SocketAddress& a : resolution.addresses) a.set_port(port_);
    judge(std::move(resolution.addresses));
}

// Keeps the addresses that pass, in the resolver's order; the connection goes to one of them,
// exactly as checked (no second resolution).
void Connection::judge(std::vector<SocketAddress> addresses) {
    std::string refused;
    for (const SocketAddress& a : addresses) {
        NetworkDecision d = judge_address(execution_->options, core_.filter(), a);
        if (d.allowed) {
            candidates_.push_back(a);
            candidate_rules_.push_back(std::move(d.rule));
        } else if (refused.empty()) {
            refused = std::move(d.rule);
        }
    }
    if (candidates_.empty()) {
        refuse(403, socks5::Reply::NotAllowed, refused);
        return;
    }
    if (!lookup_counted_) {
        if (execution_->connections_made >= limits_.max_connections) {
            refuse(429, socks5::Reply::NotAllowed,
                   "limit: " + std::to_string(limits_.max_connections) + " connections per execution");
            return;
        }
        ++execution_->connections_made;
    }
    connect_next();
}

void Connection::connect_next() {
    bool over_limit = false;
    while (next_candidate_ < candidates_.size()) {
        // Each address tried is a connection the proxy opens (judge() counted the first): a
        // name with many addresses is not many connections for the count of one (red team,
        // 2026-12-06: six connects counted as one).
        if (next_candidate_ > 0) {
            if (execution_->connections_made >= limits_.max_connections) {
                over_limit = true;
                break;
            }
            ++execution_->connections_made;
        }
        const SocketAddress& a = candidates_[next_candidate_++];
        UniqueFd fd(::socket(a.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (!fd.valid()) {
            last_connect_error_ = errno;
            continue;
        }
        const int one = 1;
        ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        // Bounds what is queued but not sent, not what is in flight: the send buffer still
        // grows with the path to a distant server (a capped SO_SNDBUF slowed such uploads).
        const int unsent = static_cast<int>(std::min<size_t>(core_.options().upload_buffer_bytes, INT32_MAX / 2));
        ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NOTSENT_LOWAT, &unsent, sizeof unsent);
        // Forced past net.core.rmem_max where the proxy may (CAP_NET_ADMIN): that cap is 208 KiB
        // on a default kernel, which would slow a distant download tenfold (a review).
        const int download = static_cast<int>(std::min<size_t>(core_.options().download_buffer_bytes, INT32_MAX / 2));
        if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &download, sizeof download) != 0)
            ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &download, sizeof download);
        if (::connect(fd.get(), a.get(), a.length()) != 0 && errno != EINPROGRESS) {
            last_connect_error_ = errno;
            continue;
        }
        server_ = std::move(fd);
        phase_ = Phase::Connecting;
        set_deadline(Clock::now() + core_.options().connect_timeout);
        core_.watch(server_.get(), Core::key(id_, true), kEvents);  // completion: writability
        return;
    }
    const std::string target = candidates_.size() == 1 ? candidates_[0].to_string()
                                                       : host_.text + ":" + std::to_string(port_);
    fail_upstream(last_connect_error_ == ETIMEDOUT ? 504 : 502, socks_reply_for(last_connect_error_),
                  "cannot connect to " + target + ": " + host::errno_text(last_connect_error_) +
                      (over_limit ? "; no other address tried: limit of " + std::to_string(limits_.max_connections) +
                                        " connections per execution"
                                  : ""));
}

void Connection::check_connect() {
    int err = 0;
    socklen_t length = sizeof err;
    if (::getsockopt(server_.get(), SOL_SOCKET, SO_ERROR, &err, &length) != 0) err = errno;
    if (err == 0) {
        sockaddr_storage peer{};
        socklen_t peer_length = sizeof peer;
        if (::getpeername(server_.get(), reinterpret_cast<sockaddr*>(&peer), &peer_length) == 0) {
            on_connected();
            return;
        }
        if (errno == ENOTCONN) return;  // not yet
        err = errno;
    }
    last_connect_error_ = err;
    server_.reset();
    connect_next();
}

void Connection::on_connected() {
    const size_t index = next_candidate_ - 1;
    record_.address = candidates_[index].to_string();
    record_.allowed = true;
    const std::string& address_rule = candidate_rules_[index];
    record_.rule = address_rule.empty() || address_rule == name_rule_ ? name_rule_
                                                                      : name_rule_ + "; " + address_rule;
    auto up = up_.open(core_.options().pipe_bytes);
    auto down = up ? down_.open(core_.options().pipe_bytes) : up;
    if (!down) {
        fail_upstream(502, socks5::Reply::GeneralFailure, "cannot relay: " + down.error().message);
        return;
    }
    const auto now = Clock::now();
    switch (protocol_) {
        case Protocol::Connect:
            to_client_ += "HTTP/1.1 200 Connection established\r\n\r\n";
            phase_ = Phase::Inspecting;
            set_deadline(now + limits_.handshake_timeout);
            break;
        case Protocol::Socks5:
            to_client_ += socks5::reply(socks5::Reply::Succeeded);  // after the method reply
            phase_ = Phase::Inspecting;
            // The client may wait for the server (SSH: the server's banner comes first): until
            // its first byte only idleness bounds the wait. Then its first bytes are judged.
            set_deadline(now + limits_.idle_timeout);
            break;
        case Protocol::Forward: {
            to_server_ = origin_form_head(request_, host_.text);
            const size_t body_here = static_cast<size_t>(std::min<uint64_t>(in_.size(), request_.content_length));
            to_server_.append(in_, 0, body_here);
            body_left_ = request_.content_length - body_here;
            // Bytes past the body would be a pipelined request, which the server would take
            // unjudged: one request per connection ("Connection: close"), the rest is dropped.
            std::string().swap(in_);
            phase_ = Phase::Relaying;
            set_deadline(now + limits_.idle_timeout);
            break;
        }
        case Protocol::Unknown: break;
    }
    advance();
}

// --- the tunnel's first bytes ----------------------------------------------------------------

void Connection::inspect() {
    if (!flush(client_.get(), to_client_, kUnlimited) || !read_client(limits_.max_header_bytes)) {
        finish("the client connection failed");
        return;
    }
    if (to_client_.empty()) {
        // Server-first protocols (SMTP, FTP through SOCKS5): what the server says reaches the
        // client while the proxy waits for the client's first bytes.
        auto step = down_.pump(server_.get(), client_.get(), kUnlimited, bytes_left());
        record_.bytes_received += step.delivered;
        execution_->bytes += step.delivered;
        if (down_.error() != 0) {
            finish(direction_failure(down_, false));
            return;
        }
        if (step.more) mark_ready();
        if (protocol_ == Protocol::Socks5 && step.delivered > 0 && !first_bytes_seen_) {
            set_deadline(Clock::now() + limits_.idle_timeout);
        }
        if (down_.source_ended() && down_.buffered() == 0 && !client_shut_) {
            ::shutdown(client_.get(), SHUT_WR);  // the server's end reaches the waiting client
            client_shut_ = true;
        }
    }
    if (!in_.empty() && !first_bytes_seen_) {
        first_bytes_seen_ = true;
        // From the first byte on, a SOCKS5 client is held to the handshake timeout, like
        // CONNECT's (which counts from the proxy's reply).
        if (protocol_ == Protocol::Socks5) set_deadline(Clock::now() + limits_.handshake_timeout);
    }
    if (protocol_ == Protocol::Socks5 && !in_.empty() && in_[0] != kTlsHandshakeRecord) {
        socks_non_tls();
        return;
    }
    const tls::ClientHello hello = tls::parse_client_hello(in_, limits_.max_header_bytes);
    switch (hello.state) {
        case tls::ClientHello::State::Incomplete:
            if (!client_ended_) return;
            if (protocol_ == Protocol::Socks5 && in_.empty()) {
                start_relay();  // nothing sent, nothing to judge: the end of input is relayed
                return;
            }
            refuse_tunnel("malformed TLS ClientHello",
                          "the client ended its side before a complete ClientHello", false);
            return;
        case tls::ClientHello::State::NotTls:
            if (protocol_ == Protocol::Socks5) {
                refuse_socks_tunnel(
                    "the first bytes are neither a TLS ClientHello nor an SSH identification line");
                return;
            }
            refuse_tunnel("CONNECT carries TLS only",
                          "the tunnel's first bytes are no TLS ClientHello (other protocols go "
                          "through SOCKS5)",
                          false);
            return;
        case tls::ClientHello::State::Malformed:
            refuse_tunnel("malformed TLS ClientHello", hello.message, true, tls::Alert::DecodeError);
            return;
        case tls::ClientHello::State::Done:
            break;
    }
    if (host_.kind == CanonicalHost::Kind::Name) {
        if (!hello.server_name) {
            refuse_tunnel("TLS ClientHello without a server name",
                          "a tunnel to " + host_.text + " needs SNI " + host_.text, true);
            return;
        }
        auto sni = canonical_host(*hello.server_name);
        if (!sni || *sni != host_) {
            refuse_tunnel("TLS server name " + printable(*hello.server_name) +
                              " does not match the tunnel's host " + host_.text,
                          {}, true);
            return;
        }
    } else if (hello.server_name) {
        refuse_tunnel("TLS server name " + printable(*hello.server_name) +
                          " in a tunnel to the IP address " + host_.text,
                      {}, true);
        return;
    }
    start_relay();
}

// A SOCKS5 tunnel's first bytes that are no TLS record: the start of an SSH session (its
// identification line and the packet that opens the key exchange, ssh_start.hpp) is relayed,
// anything else refused. SSH has no name to check: the target's name and addresses were judged,
// and the proxy holds the client's bytes until it knows they are SSH, not another protocol.
void Connection::socks_non_tls() {
    const ssh::ClientStart start = ssh::judge_client_start(in_);
    switch (start.state) {
        case ssh::ClientStart::State::Ssh:
            start_relay();
            return;
        case ssh::ClientStart::State::NotSsh:
            refuse_socks_tunnel(start.message);
            return;
        case ssh::ClientStart::State::Incomplete:
            // "SS" and the end: neither SSH nor anything else.
            if (client_ended_) {
                refuse_socks_tunnel("the client ended its side before an SSH session began");
            }
            return;
    }
}

void Connection::refuse_socks_tunnel(const std::string& why) {
    // The SOCKS5 reply is sent: the client learns by the connection closing; the record says why.
    refuse_tunnel("a SOCKS5 tunnel carries TLS or SSH", why + " (use the HTTP proxy for plain HTTP)",
                  false);
}

void Connection::start_relay() {
    to_server_.append(in_);
    std::string().swap(in_);
    phase_ = Phase::Relaying;
    set_deadline(Clock::now() + limits_.idle_timeout);
    relay();
}

// --- relay -----------------------------------------------------------------------------------

void Connection::peek_status() {
    char head[16];
    const ssize_t n = ::recv(server_.get(), head, sizeof head, MSG_PEEK);
    if (n < 0) return;  // nothing yet
    status_peeked_ = true;
    // "HTTP/1.1 200 ": the status is read if the first segment holds it; it is only a record.
    auto digit = [&](int i) { return head[i] >= '0' && head[i] <= '9'; };
    if (n >= 12 && std::memcmp(head, "HTTP/1.", 7) == 0 && head[8] == ' ' && digit(9) && digit(10) && digit(11)) {
        record_.status = (head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0');
    }
}

void Connection::relay() {
    // The proxy's own bytes go first in each direction.
    const Flushed to_client = flush(client_.get(), to_client_, kUnlimited);
    const Flushed to_server = to_client ? flush(server_.get(), to_server_, bytes_left()) : Flushed{0, true};
    record_.bytes_sent += to_server.written;  // sent, even when the server reset meanwhile
    execution_->bytes += to_server.written;
    if (!to_server) {
        finish(to_client ? peer_failure("server", to_server.error) : peer_failure("client", to_client.error));
        return;
    }
    bool progress = to_server.written > 0;
    bool more = false;
    if (to_server_.empty()) {
        const uint64_t read_limit = protocol_ == Protocol::Forward ? body_left_ : kUnlimited;
        auto step = up_.pump(client_.get(), server_.get(), read_limit, bytes_left());
        if (protocol_ == Protocol::Forward) body_left_ -= step.read;
        record_.bytes_sent += step.delivered;
        execution_->bytes += step.delivered;
        progress |= step.read > 0 || step.delivered > 0;
        more |= step.more;
    }
    if (to_client_.empty()) {
        if (protocol_ == Protocol::Forward && !status_peeked_) peek_status();
        auto step = down_.pump(server_.get(), client_.get(), kUnlimited, bytes_left());
        record_.bytes_received += step.delivered;
        execution_->bytes += step.delivered;
        progress |= step.read > 0 || step.delivered > 0;
        more |= step.more;
    }
    if (progress) set_deadline(Clock::now() + limits_.idle_timeout);
    if (up_.error() != 0 || down_.error() != 0) {  // a reset: the connection ends as the peer chose
        // The record says which side ended it so: without, a tunnel the server reset read as
        // one that ran to its end.
        const bool up = up_.error() != 0;
        finish(direction_failure(up ? up_ : down_, up));
        return;
    }
    if (bytes_left() == 0 && (up_.buffered() > 0 || down_.buffered() > 0 || !to_server_.empty())) {
        cut("cut: limit of " + std::to_string(limits_.max_bytes) + " bytes per execution reached");
        return;
    }
    // A side that ended is passed on as a half-close, so that protocols that read to the end
    // of input work; a tunnel ends when both directions have. A forwarded request ends with
    // its response: the server closes after it ("Connection: close"), and a body the client
    // still had to send has nobody left to read it.
    const bool up_done = to_server_.empty() && up_.buffered() == 0 && up_.source_ended();
    const bool down_done = down_.source_ended() && down_.buffered() == 0;
    if (up_done && protocol_ != Protocol::Forward && !server_shut_) {
        ::shutdown(server_.get(), SHUT_WR);
        server_shut_ = true;
    }
    if (down_done && !client_shut_) {
        ::shutdown(client_.get(), SHUT_WR);
        client_shut_ = true;
    }
    if (down_done && protocol_ == Protocol::Forward && (body_left_ > 0 || unread(client_))) {
        drain_after_early_answer();
        return;
    }
    if (down_done && (up_done || protocol_ == Protocol::Forward)) {
        end({}, Ending::Completed);
        return;
    }
    if (more) mark_ready();
}

// --- refusals and the end --------------------------------------------------------------------

void Connection::refuse(int http_status, socks5::Reply socks_reply, const std::string& rule,
                        const std::string& detail) {
    record_.allowed = false;
    record_.rule = rule;
    // A detail may quote the client's bytes (a Host header's obs-text, say): escape sequences for
    // an 8-bit terminal, or invalid UTF-8 that the JSON result cannot hold.
    const std::string shown = printable(detail, kMaxDetailBytes);
    record_.error = "refused: " + rule + (shown.empty() ? "" : ": " + shown);
    std::string response;
    if (record_.method == "SOCKS4") {
        response = std::string("\x00\x5b\x00\x00\x00\x00\x00\x00", 8);  // request rejected
    } else if (protocol_ == Protocol::Socks5) {
        if (socks_greeted_) response = socks5::reply(socks_reply);
    } else {
        const std::string what = record_.method.empty() ? "" : record_.method + " " + record_.url + ": ";
        response = http_refusal(http_status, "refused " + what + rule + (shown.empty() ? "" : ": " + shown));
    }
    enter_refusing(std::move(response));
}

void Connection::refuse_tunnel(const std::string& rule, const std::string& detail, bool send_alert,
                               tls::Alert alert) {
    record_.allowed = false;
    record_.rule = rule;
    const std::string shown = printable(detail, kMaxDetailBytes);
    record_.error = "refused: " + rule + (shown.empty() ? "" : ": " + shown);
    enter_refusing(send_alert ? tls::alert(alert) : std::string());
}

void Connection::fail_upstream(int http_status, socks5::Reply socks_reply, const std::string& error) {
    record_.allowed = true;
    if (record_.rule.empty()) record_.rule = name_rule_;
    record_.error = error;
    std::string response;
    if (protocol_ == Protocol::Socks5) {
        response = socks5::reply(socks_reply);
    } else {
        response = http_refusal(http_status, record_.method + " " + record_.url + ": " + error);
    }
    enter_refusing(std::move(response));
}

void Connection::enter_refusing(std::string response) {
    server_.reset();  // the server gets nothing more: it sees the connection close
    up_ = SpliceDirection();
    down_ = SpliceDirection();
    to_server_.clear();
    std::string().swap(in_);
    to_client_ += response;
    phase_ = Phase::Refusing;
    record();
    set_deadline(Clock::now() + kLinger);
    refusing();
}

// The server answered before the request's body was all sent (a 413, say) and ended: the client
// may still be sending, and closing its socket on unread bytes would reset the connection and
// destroy the end of the answer still on its way (a review, 2026-12-06). The client is drained as
// after a refusal; the upload's rest queued toward the server is reset with that socket.
void Connection::drain_after_early_answer() {
    reset_if_unsent(server_, held_for_server());
    after_early_answer_ = true;
    enter_refusing({});
}

// The refusal is sent, our side shut, and the client drained until it closes: closing a socket
// with unread bytes would reset the connection and could destroy the refusal before it is read.
// The client's end of input ends it plainly (nothing is left unread: no reset); kMaxDrain bytes
// end it too, unless an early answer is still on its way (the bytes past count against the
// execution's byte limit), or the linger deadline.
void Connection::refusing() {
    if (!flush(client_.get(), to_client_, kUnlimited)) {
        finish();
        return;
    }
    if (!to_client_.empty()) return;  // on writability
    if (!client_shut_) {
        ::shutdown(client_.get(), SHUT_WR);
        client_shut_ = true;
    }
    // At most four chunks a turn: a client that sends without end must not hold the proxy's
    // thread, and the turn after the others' is also after the linger deadline's check.
    char buf[kReadChunk];
    for (size_t this_turn = 0; this_turn < 4 * kReadChunk;) {
        const ssize_t n = ::recv(client_.get(), buf, sizeof buf, 0);
        if (n > 0) {
            drained_ += static_cast<size_t>(n);
            this_turn += static_cast<size_t>(n);
            if (drained_ <= kMaxDrain) continue;
            // Bytes the client sends past that count against the execution's byte limit.
            if (after_early_answer_ && send_queued(client_) && bytes_left() >= static_cast<uint64_t>(n)) {
                execution_->bytes += static_cast<uint64_t>(n);
                continue;
            }
        } else if (n == 0) {
            end({}, Ending::Completed);
            return;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        finish();
        return;
    }
    mark_ready();
}

void Connection::mark_ready() {
    if (ready_queued_) return;
    ready_queued_ = true;
    core_.mark_ready(id_);
}

void Connection::on_deadline() {
    const std::string handshake_limit = duration_text(limits_.handshake_timeout);
    switch (phase_) {
        case Phase::Handshake:
            if (in_.empty() && protocol_ == Protocol::Unknown) {
                finish("no request within " + handshake_limit);
            } else {
                refuse(408, socks5::Reply::TtlExpired, "handshake timeout",
                       "no complete request within " + handshake_limit);
            }
            return;
        case Phase::Resolving:
            core_.lookups().cancel(*execution_, id_);  // not started yet: it never will
            fail_upstream(504, socks5::Reply::TtlExpired,
                          "resolving " + host_.text + " took longer than " +
                              duration_text(core_.options().resolve_timeout));
            return;
        case Phase::Connecting:
            server_.reset();
            last_connect_error_ = ETIMEDOUT;
            connect_next();
            return;
        case Phase::Inspecting:
            if (protocol_ == Protocol::Socks5 && in_.empty()) {
                // Waiting for the server or a user is fine, but never turns into an unchecked relay.
                cut("cut: idle for " + duration_text(limits_.idle_timeout));
                return;
            }
            refuse_tunnel("handshake timeout",
                          std::string(protocol_ == Protocol::Socks5
                                          ? "no complete TLS ClientHello or SSH identification string"
                                          : "no complete TLS ClientHello") +
                              " within " + handshake_limit,
                          false);
            return;
        case Phase::Relaying:
            cut("cut: idle for " + duration_text(limits_.idle_timeout));
            return;
        case Phase::Refusing:
            finish();
            return;
        case Phase::Done:
            return;
    }
}

void Connection::record() {
    if (recorded_) return;
    recorded_ = true;
    if (!record_.allowed) {  // ended before any judgement: nothing went through
        record_.allowed = false;
        record_.rule = "no complete request";
    }
    record_.bytes = record_.bytes_received;
    record_.duration = Clock::now() - started_;
    // judge() counted it in max_connections when it went on to connect: such records are kept.
    const bool reached_server = next_candidate_ > 0;
    execution_->records.add(std::move(record_), started_,
                            reached_server ? RecordLog::Reached::Server : RecordLog::Reached::ProxyOnly);
}

void Connection::end(const std::string& error, Ending how) {
    if (phase_ == Phase::Done) return;
    if (phase_ == Phase::Resolving) core_.lookups().cancel(*execution_, id_);
    // A tunnel cut before its first bytes were judged was allowed by name only: its record
    // says so, not to be read as a tunnel that passed the ClientHello check (red team, 2026-12-06).
    const bool unjudged_tunnel = phase_ == Phase::Inspecting;
    // A forwarded request whose declared body did not all pass is not a request that ran to its
    // end, whatever ended it (a reset client left such records without an error; red team).
    const bool body_cut = phase_ == Phase::Relaying && protocol_ == Protocol::Forward && body_left_ > 0;
    phase_ = Phase::Done;
    if (unjudged_tunnel && record_.error.empty()) {
        record_.error = (error.empty() ? std::string("ended") : error) + " before the tunnel's first bytes were judged";
    } else if (!error.empty() && record_.error.empty()) {
        record_.error = error;
    }
    // Not an early answer. A peer's reset or failure is its cause; the proxy's own cut says more.
    if (body_cut && how != Ending::Completed && (record_.error.empty() || how == Ending::Failed)) {
        const std::string cause = record_.error;
        record_.error = "the request's body was not all sent: " +
                        std::to_string(request_.content_length - body_left_) + " of " +
                        std::to_string(request_.content_length) + " bytes" +
                        (cause.empty() ? "" : " (" + cause + ")");
    }
    record();
    --execution_->open;
    const bool held_for_client = !to_client_.empty() || down_.buffered() > 0;
    const bool held_for_server = this->held_for_server();
    switch (how) {
        case Ending::Completed:
            if (protocol_ == Protocol::Forward) reset_if_unsent(server_, held_for_server);
            break;
        case Ending::Failed:
            reset_if_unsent(client_, held_for_client);
            reset_if_unsent(server_, held_for_server);
            break;
        case Ending::Cut:
            reset_if_unsent(client_, true);
            reset_if_unsent(server_, true);
            break;
    }
    client_.reset();
    server_.reset();
    up_ = SpliceDirection();
    down_ = SpliceDirection();
    core_.retire(id_);
}

}  // namespace microvm::proxy
