#include "service/http_frontend.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <list>
#include <regex>
#include <system_error>
#include <thread>

#include "host/fd_wait.hpp"
#include "microvm/json_output.hpp"
#include "service/confined_files.hpp"
#include "service/hangup_watcher.hpp"
#include "service/openapi.hpp"
#include "service/tokens.hpp"
#include "conn_stream.hpp"
#include "peer_address.hpp"
#include "tls_context.hpp"
#include "host/output_relay.hpp"
#include "service/stream_events.hpp"

namespace microvm::service {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

struct HttpFrontend::Listener {
    ListenSpec spec;
    host::UniqueFd fd;
    std::optional<TokenSet> tokens;
    TlsContext tls{nullptr, SSL_CTX_free};
    std::thread thread;
};

struct HttpFrontend::Connection {
    host::UniqueFd fd;
    Listener* listener = nullptr;
    ClientIdentity who;
    std::string remote_ip;
    int remote_port = 0;
    std::unique_ptr<SSL, void (*)(SSL*)> ssl{nullptr, SSL_free};
    ConnStream* stream = nullptr;  // while serve() runs
    bool close_after = false;  // the request left unread bytes behind (refused early)
    bool admitted = false;     // admit() ran already, before a "100 Continue"
    bool reading_head = false;  // the request line and headers are being read (under kMaxHeadBytes)
    std::optional<httplib::Range> range;  // the request's single Range, applied by the download handler
    std::optional<BodyBudget::Hold> body_hold;  // the current request's share of the body budget
    std::optional<ClientQuotas::Hold> body_quota;  // ... and of its client's body quota
    // The execution whose reply is being written: its slot and quota are held until the reply
    // is gone or reply_drain_time has passed (a result repeats the output: slow readers of
    // replies whose runs gave their slots back held memory past the concurrency).
    std::shared_ptr<Service::Prepared> reply_run;
    std::string peer;  // "ip:ADDRESS" or "uid:N": whose per-peer connection count it is in
    Clock::time_point accepted = Clock::now();
    // Under conn_mu_: no authenticated request is in progress (the connection is being set up,
    // reading a head, or idle between requests): the first a newcomer of its peer over the cap
    // closes. Evicted: closed so, and out of the peer's count already.
    bool idle = true;
    bool evicted = false;
};

namespace {


// The connection the current thread serves: handlers run on it (httplib calls them from
// process_request, on our thread).
thread_local HttpFrontend::Connection* tl_conn = nullptr;

// The TLS handshake of a connection of a TLS listener, on its socket made non-blocking (every
// later TLS step waits in host::fd_ready against a deadline too); c.ssl is left null when it failed or
// did not end by the deadline: a client that stalls or trickles in it is dropped.
bool accept_tls(HttpFrontend::Connection& c, SSL_CTX* tls, Clock::time_point deadline) {
    const int fd = c.fd.get();
    c.ssl.reset(SSL_new(tls));
    SSL* ssl = c.ssl.get();
    if (!ssl) return false;
    SSL_set_fd(ssl, fd);
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (ssl_until(ssl, fd, deadline, [ssl] { return SSL_accept(ssl); }) == 1) return true;
    c.ssl.reset();
    return false;
}

// The request line and headers together: httplib reads them before any handler (and so before
// the token is checked) and bounds only each line (8 KiB), not their number.
constexpr size_t kMaxHeadBytes = 64 << 10;

// A download goes out in chunks read from the descriptor the confinement checks opened (kept
// open by the provider until the response is gone): never the whole file in memory. The length
// is the size at opening (or of the range served from start); a file that shrinks meanwhile ends
// the connection early.
constexpr size_t kDownloadChunk = 64 << 10;

// What a streamed execution's event lines may queue past the run's deadline (docs/service.md).
constexpr size_t kStreamLateBytes = 8u << 20;

void stream_file(httplib::Response& res, std::shared_ptr<ReadableFile> file, const std::string& type,
                 uint64_t start, uint64_t length) {
    res.set_content_provider(
        static_cast<size_t>(length), type,
        [file = std::move(file), start](size_t offset, size_t length, httplib::DataSink& sink) {
            std::string buf(std::min(length, kDownloadChunk), '\0');
            for (;;) {
                ssize_t n = ::pread(file->fd.get(), buf.data(), buf.size(), static_cast<off_t>(start + offset));
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) return false;
                return sink.write(buf.data(), static_cast<size_t>(n));
            }
        });
}

void set_reply(httplib::Response& res, const Reply& r) {
    res.status = r.status;
    for (const auto& [k, v] : r.headers) res.set_header(k, v);
    if (r.file) {
        stream_file(res, r.file, r.content_type, 0, r.file->size);
        return;
    }
    res.set_content(r.body, r.content_type.c_str());
}

void set_error(httplib::Response& res, const ApiError& e) { set_reply(res, error_reply(e)); }

// One range of a download, checked against the file's size (httplib applies a range without
// checking it: a start past the end made a negative length, sent as a huge Content-Length).
// A start at or past the end is refused (416 naming the size); an end past it is cut to it.
void set_range_reply(httplib::Response& res, const Reply& r, httplib::Range range) {
    const auto size = static_cast<int64_t>(r.file->size);
    int64_t first = range.first, last = range.second;
    if (first < 0 && last < 0) return set_reply(res, r);
    if (first < 0) {  // "bytes=-N": the last N bytes
        first = last == 0 ? size : std::max<int64_t>(0, size - last);
        last = size - 1;
    } else if (last < 0 || last >= size) {
        last = size - 1;
    }
    if (first >= size || last < first) {
        set_error(res, {416, "range_not_satisfiable",
                        "the range is outside the file (" + std::to_string(size) + " bytes)"});
        res.set_header("Content-Range", "bytes */" + std::to_string(size));
        return;
    }
    res.status = 206;
    for (const auto& [k, v] : r.headers) res.set_header(k, v);
    res.set_header("Content-Range",
                   "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" + std::to_string(size));
    stream_file(res, r.file, r.content_type, static_cast<uint64_t>(first), static_cast<uint64_t>(last - first + 1));
}

// "/v1/sandboxes/{id}/files/{path}" -> "/v1/sandboxes/([^/]+)/files/(.+)"
std::string pattern_of(const std::string& openapi_path) {
    std::string out;
    for (size_t i = 0; i < openapi_path.size();) {
        if (openapi_path[i] == '{') {
            size_t end = openapi_path.find('}', i);
            std::string name = openapi_path.substr(i + 1, end - i - 1);
            out += name == "path" ? "(.+)" : "([^/]+)";
            i = end + 1;
        } else {
            char c = openapi_path[i++];
            if (c == '.') out += "\\";
            out += c;
        }
    }
    return out;
}

// Requests whose framing a front end behind a proxy could read differently from httplib (request
// smuggling), or whose body httplib would read without a bound: refused before any of the body
// is read. Ranges: only one, and only of a file download (httplib builds every part in memory).
std::optional<ApiError> framing_refusal(const httplib::Request& req) {
    // The API's methods only: httplib reads a PATCH's or a PRI's body without a length to the
    // end of the connection, outside every bound (red team, 2026-12-07: 5.4 GB from three
    // connections, before any token was asked for); CONNECT, OPTIONS and TRACE serve nothing.
    static constexpr std::string_view kMethods[] = {"GET", "HEAD", "POST", "PUT", "DELETE"};
    if (std::find(std::begin(kMethods), std::end(kMethods), req.method) == std::end(kMethods))
        return ApiError{405, "method_not_allowed", "the API's methods are GET, HEAD, POST, PUT and DELETE"};
    const bool has_length = req.has_header("Content-Length");
    const bool has_encoding = req.has_header("Transfer-Encoding");
    if (has_length && has_encoding)
        return ApiError{400, "bad_request", "Content-Length and Transfer-Encoding together are refused"};
    if (has_encoding && req.get_header_value("Transfer-Encoding") != "chunked")
        return ApiError{400, "bad_request", "the only Transfer-Encoding accepted is chunked"};
    if (req.get_header_value_count("Content-Length") > 1 || req.get_header_value_count("Transfer-Encoding") > 1)
        return ApiError{400, "bad_request", "a framing header given twice is refused"};
    // Digits only (RFC 9110): httplib reads "+5", " 5" and "5abc" as 5, which a proxy in front
    // may read otherwise (a review, 2026-12-07).
    if (has_length) {
        const std::string length = req.get_header_value("Content-Length");
        if (length.empty() || length.find_first_not_of("0123456789") != std::string::npos)
            return ApiError{400, "bad_request", "Content-Length must be decimal digits"};
    }
    // httplib inflates a gzip/deflate/br body into memory without a bound, after the limits and
    // the body budget saw only its compressed length: a compressed body is not accepted.
    for (size_t i = 0; i < req.get_header_value_count("Content-Encoding"); ++i)
        if (req.get_header_value("Content-Encoding", i) != "identity")
            return ApiError{415, "unsupported_media_type",
                            "a request body is taken uncompressed only (Content-Encoding: identity or none)"};
    const bool takes_body = req.method == "POST" || req.method == "PUT";
    if (takes_body && !has_length && !has_encoding)
        return ApiError{411, "length_required", "a POST or PUT needs Content-Length (or a chunked body)"};
    if (!takes_body && (has_encoding || (has_length && req.get_header_value("Content-Length") != "0")))
        return ApiError{400, "bad_request", "a " + req.method + " request has no body here"};
    if (req.has_header("Range")) {
        const bool download = req.method == "GET" && req.path.find("/files/") != std::string::npos;
        if (!download || req.get_header_value("Range").find(',') != std::string::npos)
            return ApiError{416, "range_not_satisfiable", "only one range, of a file download, is served"};
    }
    return std::nullopt;
}

// The answer to a connection turned away before anything of it is read.
std::string refusal_response(const std::string& status_line, const std::string& code, const std::string& message) {
    const std::string body = json_text(json{{"error", {{"code", code}, {"message", message}}}}) + "\n";
    return "HTTP/1.1 " + status_line + "\r\nRetry-After: 1\r\nContent-Type: application/json\r\n" +
           "Connection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// A TLS refusal needs a handshake, which a client may stall: at most this many at once, each
// within kTlsRefusalTime; past them a refused TLS connection is closed unanswered.
constexpr size_t kMaxTlsRefusals = 4;
constexpr std::chrono::seconds kTlsRefusalTime{1};

}  // namespace

HttpFrontend::HttpFrontend(Service& service, FrontendOptions options)
    : service_(service),
      options_(options),
      stop_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    // httplib ends a streamed (chunked) response early when its own listening socket is
    // invalid ("shutting down"); ours are elsewhere, so it is shown a descriptor that stays open
    // as long as this object (never used as a socket: the base's listen/stop are not called).
    svr_sock_ = stop_fd_.get();
    set_payload_max_length(std::max(service_.options().max_request_bytes, service_.options().max_file_bytes));
    set_keep_alive_max_count(options_.keep_alive_max);

    // Before anything is read of the body: authentication on TCP, the size of JSON bodies and
    // the body budget. A client that sent `Expect: 100-continue` is answered by this same
    // admission before it is told to continue, so a refusal never follows a "100 Continue"
    // (whose client would then send a body nobody reads).
    set_expect_100_continue_handler([this](const httplib::Request& req, httplib::Response& res) {
        if (admit(req, res) == HandlerResponse::Handled) return res.status;
        if (tl_conn) tl_conn->admitted = true;
        return 100;
    });
    set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
        if (tl_conn && std::exchange(tl_conn->admitted, false)) return HandlerResponse::Unhandled;
        return admit(req, res);
    });
    set_error_handler(HandlerWithResponse([](const httplib::Request&, httplib::Response& res) -> HandlerResponse {
        if (tl_conn && tl_conn->stream && tl_conn->stream->cap_hit()) {  // a head or chunked body past its limit
            res.status = tl_conn->reading_head ? 431 : 413;
            res.set_header("Connection", "close");
            tl_conn->close_after = true;  // the rest of it is not read
        }
        if (!res.body.empty()) return HandlerResponse::Unhandled;
        // An error of httplib's own (a head or body it could not parse, a path with no route): it
        // may have stopped anywhere in the request, and what it would parse next is the rest of
        // this one (a header line over its 8 KiB limit left the body, a whole request smuggled
        // past a proxy that allows longer lines, to be served; red team, 2026-12-07). Nothing
        // after it on this connection is served.
        res.set_header("Connection", "close");
        if (tl_conn) tl_conn->close_after = true;
        std::string code = res.status == 404   ? "not_found"
                           : res.status == 413 ? "too_large"
                           : res.status == 431 ? "headers_too_large"
                                               : "http_" + std::to_string(res.status);
        std::string message = res.status == 404   ? "no such endpoint (see GET /v1/openapi.json)"
                              : res.status == 413 ? "the request body is too large"
                              : res.status == 431 ? "the request line and headers are limited to " +
                                                        std::to_string(kMaxHeadBytes) + " bytes"
                              : res.status == 400 ? "malformed HTTP request"
                                                  : "the request could not be served";
        set_error(res, {res.status, code, message});
        return HandlerResponse::Handled;
    }));
    set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        // It may have come before the body was read (in admit()): nothing after it is served.
        res.set_header("Connection", "close");
        if (tl_conn) tl_conn->close_after = true;
        std::string what = "internal error";
        try {
            std::rethrow_exception(ep);
        } catch (const std::exception& e) {
            what = std::string("internal error: ") + e.what();
        } catch (...) {
        }
        set_error(res, {500, "internal", what});
    });
    set_logger([this](const httplib::Request&, const httplib::Response& res) { service_.http_response(res.status); });

    route("GET", "/healthz", [this](const httplib::Request&, httplib::Response& res) { set_reply(res, service_.health()); });
    route("GET", "/metrics", [this](const httplib::Request&, httplib::Response& res) { set_reply(res, service_.metrics()); });
    route("GET", "/v1/providers", [this](const httplib::Request&, httplib::Response& res) { set_reply(res, service_.providers()); });
    route("GET", "/v1/openapi.json", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(openapi_document().dump(), "application/json");
    });
    route("POST", "/v1/executions", [this](const httplib::Request& req, httplib::Response& res) { execute_handler(req, res, false); });
    route("POST", "/v1/sandboxes", [this](const httplib::Request& req, httplib::Response& res) {
        if (!json_body_fits(req, res)) return;
        set_reply(res, service_.create_session(req.body, tl_conn->who));
    });
    route("DELETE", "/v1/sandboxes/{id}", [this](const httplib::Request& req, httplib::Response& res) {
        set_reply(res, service_.delete_session(req.matches[1], tl_conn->who));
    });
    route("POST", "/v1/sandboxes/{id}/exec", [this](const httplib::Request& req, httplib::Response& res) { execute_handler(req, res, true); });
    route("PUT", "/v1/sandboxes/{id}/files/{path}", [this](const httplib::Request& req, httplib::Response& res) {
        set_reply(res, service_.put_file(req.matches[1], req.matches[2], req.body, tl_conn->who));
    });
    route("GET", "/v1/sandboxes/{id}/files/{path}", [this](const httplib::Request& req, httplib::Response& res) {
        Reply r = service_.get_file(req.matches[1], req.matches[2], tl_conn->who);
        if (r.file && tl_conn->range) return set_range_reply(res, r, *tl_conn->range);
        set_reply(res, r);
    });
}

httplib::Server::HandlerResponse HttpFrontend::admit(const httplib::Request& req, httplib::Response& res) {
    Connection* c = tl_conn;
    if (c && c->reading_head) {  // the head is in: the body's own bounds apply from here
        c->reading_head = false;
        if (c->stream) c->stream->uncap();
    }
    const bool open_route = req.path == "/healthz" || req.path == "/v1/openapi.json";
    if (c && c->listener->tokens && !open_route) {
        auto id = c->listener->tokens->check(req.get_header_value("Authorization"));
        if (!id) {
            set_error(res, {401, "unauthorized", "a valid bearer token is required (Authorization: Bearer TOKEN)"});
            res.set_header("WWW-Authenticate", "Bearer");
            res.set_header("Connection", "close");
            c->close_after = true;  // its body, if any, is left unread
            return HandlerResponse::Handled;
        }
        c->who.token_id = *id;
    }
    // Authenticated (a token checked, or a listener without tokens: the Unix socket, which its
    // file mode guards): a newcomer no longer displaces it. An open route's request on a listener
    // with tokens does not count: a client without a token held its connection with a /healthz
    // whose body never came (red team, 2026-12-05).
    if (c && (!c->listener->tokens || !open_route)) {
        std::lock_guard lock(conn_mu_);
        c->idle = false;
    }
    const bool file_upload = req.method == "PUT" && req.path.find("/files/") != std::string::npos;
    const size_t limit = file_upload ? service_.options().max_file_bytes : service_.options().max_request_bytes;
    if (auto refusal = framing_refusal(req)) {
        set_error(res, *refusal);
        res.set_header("Connection", "close");
        if (c) c->close_after = true;  // whatever follows on this connection is not trusted
        return HandlerResponse::Handled;
    }
    if (req.has_header("Content-Length")) {
        const std::string len = req.get_header_value("Content-Length");
        if (len.size() > 18 || std::strtoull(len.c_str(), nullptr, 10) > limit) {
            set_error(res, {413, "too_large", std::string(file_upload ? "files are" : "request bodies are") +
                                                  " limited to " + std::to_string(limit) + " bytes"});
            res.set_header("Connection", "close");
            if (c) c->close_after = true;
            return HandlerResponse::Handled;
        }
    }
    // Every body is bounded while it is read: its limit plus room for a chunked body's framing
    // (a length was checked above; this holds whatever httplib reads).
    if (c && c->stream) c->stream->cap_reads(limit + limit / 16 + 4096);
    if (c && req.has_header("Transfer-Encoding")) {
        // A chunked body's end is where httplib's parser says (a trailer, a bare LF), which a
        // proxy in front may place elsewhere: the connection ends with it, so that nothing a
        // proxy took for the next request is served from its bytes (red team, 2026-12-07).
        res.set_header("Connection", "close");
        c->close_after = true;
    }
    if (auto refusal = c ? reserve_body(req, limit, *c) : std::nullopt) {
        set_error(res, *refusal);
        res.set_header("Retry-After", "1");
        res.set_header("Connection", "close");
        c->close_after = true;  // its body is left unread
        return HandlerResponse::Handled;
    }
    return HandlerResponse::Unhandled;
}

// A JSON body that arrived without a length (chunked) is only bounded by the larger file limit
// while it is read; it is measured against the JSON limit here.
// A body is held whole in memory until its handler runs: its declared length (its limit when it
// comes chunked) is reserved from the daemon-wide budget before it is read.
// The client's quota comes first: a client over it is told so (429) rather than that the daemon
// is full, and takes nothing of the budget.
std::optional<ApiError> HttpFrontend::reserve_body(const httplib::Request& req, size_t limit, Connection& c) {
    size_t bytes = 0;
    if (req.has_header("Content-Length")) {
        const std::string len = req.get_header_value("Content-Length");
        bytes = len.size() > 18 ? limit : std::min<size_t>(std::strtoull(len.c_str(), nullptr, 10), limit);
    } else if (req.has_header("Transfer-Encoding")) {
        bytes = limit;
    }
    if (bytes == 0) return std::nullopt;
    auto quota = service_.reserve_client_body(c.who, bytes);
    if (!quota) return quota.error();
    c.body_hold = service_.body_budget().reserve(bytes);
    if (!c.body_hold)
        return ApiError{503, "busy", "the daemon holds too many request bodies at once (" +
                                         std::to_string(service_.body_budget().limit()) + " bytes); retry later"};
    c.body_quota.emplace(std::move(*quota));
    return std::nullopt;
}

bool HttpFrontend::json_body_fits(const httplib::Request& req, httplib::Response& res) const {
    const size_t limit = service_.options().max_request_bytes;
    if (req.body.size() <= limit) return true;
    set_error(res, {413, "too_large", "request bodies are limited to " + std::to_string(limit) + " bytes"});
    return false;
}

HttpFrontend::~HttpFrontend() { stop(std::chrono::milliseconds(0)); }

std::chrono::steady_clock::time_point HttpFrontend::drain_deadline(size_t bytes) const {
    return Clock::now() + options_.reply_drain_time + std::chrono::seconds(bytes / kMinDrainBytesPerSecond);
}

void HttpFrontend::route(const std::string& method, const std::string& openapi_path, Handler handler) {
    routes_.emplace(method, openapi_path);
    const std::string pattern = pattern_of(openapi_path);
    if (method == "GET") Get(pattern, std::move(handler));
    else if (method == "POST") Post(pattern, std::move(handler));
    else if (method == "PUT") Put(pattern, std::move(handler));
    else if (method == "DELETE") Delete(pattern, std::move(handler));
}

void HttpFrontend::execute_handler(const httplib::Request& req, httplib::Response& res, bool in_session) {
    Connection* c = tl_conn;
    if (!json_body_fits(req, res)) return;
    CancelSource gone;
    std::optional<HangupWatcher::Watch> watch(hangups_.watch(c->fd.get(), gone));  // queued, then running
    ApiExpected<std::shared_ptr<Service::Prepared>> prepared =
        in_session ? service_.prepare_session_exec(req.matches[1], req.body, c->who, gone.token())
                   : service_.prepare_execution(req.body, c->who, gone.token());
    if (!prepared) {
        set_error(res, prepared.error());
        return;
    }
    std::shared_ptr<Service::Prepared> p = *prepared;
    if (!service_.wants_stream(*p)) {
        set_reply(res, result_reply(service_.run(*p, nullptr)));
        c->reply_run = std::move(p);
        c->stream->set_write_deadline(drain_deadline(res.body.size()));
        return;
    }
    watch.reset();
    // NDJSON: output chunks as the program writes them, then the result. The provider below
    // runs on this connection's thread, after this handler returns.
    const int fd = c->fd.get();
    // It runs outside httplib's handler try block: an exception (the kernel refusing the watch)
    // ends this response early (the client sees a stream without its result), not the daemon.
    res.set_chunked_content_provider("application/x-ndjson", [this, p, gone, fd](size_t, httplib::DataSink& sink) {
        try {
            auto watch = hangups_.watch(fd, gone);
            EventWriter events;
            auto sink_write = [&](OutputStream, const std::string& line) {  // one stream: the NDJSON body
                if (sink.write(line.data(), line.size())) return true;
                gone.cancel();  // the client went away
                return false;
            };
            // The run's output leaves from the relay's thread: the capture waits for the client
            // only while the relay is full and never past the run's deadline, which is no
            // earlier than this (output_relay.hpp).
            // Past the deadline a line is queued without waiting; an event line is ~37 bytes for
            // one byte of output, so a guest's one-byte writes would queue 37 times its output
            // caps for a reader that stalls: the queue stops there (output_relay.hpp).
            host::OutputRelay relay(sink_write, host::OutputRelay::Clock::now() + service_.timeout_of(*p), {},
                                    kStreamLateBytes);
            auto doc = service_.run(*p, [&](OutputStream stream, std::string_view chunk) {
                for (auto& line : events.output(stream, chunk)) relay.push(std::move(line));
            });
            // The run has ended: the rest (what the relay holds, the result) is queued without
            // waiting, and the client has reply_drain_time to take it, else the connection is
            // shut down (which also ends a write in progress). Its slot is held until then: a
            // result repeats the output, so with the slot given back at once, slow readers
            // held 330 MB each past the concurrency (red team, 2026-12-04).
            relay.run_ended();
            if (const size_t cut = relay.dropped_bytes()) {
                relay.push(events.cut(cut));  // what was held for the cut stream is not sent
                (void)events.flush();
            } else {
                for (auto& line : events.flush()) relay.push(std::move(line));
            }
            std::string result = events.result(doc);
            doc = nullptr;
            const size_t left = result.size() + relay.queued_bytes();
            relay.push(std::move(result));
            if (!relay.finish(drain_deadline(left),
                              [fd] { ::shutdown(fd, SHUT_RDWR); }))
                return false;
            sink.done();
            return true;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "microvmd: a streamed execution ended early: %s\n", e.what());
            gone.cancel();
            return false;
        }
    });
}

Expected<void> HttpFrontend::add_listener(const ListenSpec& spec, std::optional<TokenSet> tokens,
                                          std::optional<TlsFiles> tls) {
    if (spec.kind == ListenSpec::Kind::Tcp && (!tokens || tokens->empty()))
        return fail(Failure::Kind::InvalidConfig,
                    "--listen " + spec.text() + ": a TCP listener needs --token-file (bearer tokens are always required on TCP)");
    if (tls && spec.kind != ListenSpec::Kind::Tcp)
        return fail(Failure::Kind::InvalidConfig, "--tls-cert applies to TCP listeners only");
    auto l = std::make_unique<Listener>();
    l->spec = spec;
    l->tokens = std::move(tokens);
    if (tls) {
        RTFS_TRY(l->tls, make_tls_context(*tls));
    }
    RTFS_TRY(l->fd, open_listener(spec));
    listeners_.push_back(std::move(l));
    return Ok{};
}

int HttpFrontend::port(size_t n) const { return n < listeners_.size() ? bound_port(listeners_[n]->fd.get()) : -1; }

void HttpFrontend::start() {
    for (auto& l : listeners_) {
        Listener* lp = l.get();
        l->thread = std::thread([this, lp] { accept_loop(*lp); });
    }
}

void HttpFrontend::accept_loop(Listener& l) {
    for (;;) {
        pollfd p[2] = {{l.fd.get(), POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
        if (::poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return;
        }
        if (stopping_ || (p[1].revents & POLLIN)) return;
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        int fd = ::accept4(l.fd.get(), reinterpret_cast<sockaddr*>(&ss), &len, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) std::this_thread::sleep_for(std::chrono::milliseconds(50));
            continue;
        }
        auto c = std::make_unique<Connection>();
        c->fd.reset(fd);
        c->listener = &l;
        if (l.spec.kind == ListenSpec::Kind::Unix) {
            c->who.transport = "unix";
            ucred cred{};
            socklen_t cl = sizeof cred;
            if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0) {
                c->who.uid = cred.uid;
                c->who.pid = cred.pid;
            }
            c->remote_ip = "unix";
        } else {
            c->who.transport = l.tls ? "tls" : "tcp";
            char ip[INET6_ADDRSTRLEN] = "";
            if (ss.ss_family == AF_INET) {
                auto* a = reinterpret_cast<sockaddr_in*>(&ss);
                ::inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
                c->remote_port = ntohs(a->sin_port);
            } else if (ss.ss_family == AF_INET6) {
                auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
                ::inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
                c->remote_port = ntohs(a->sin6_port);
            }
            c->remote_ip = ip;
            c->who.remote = c->remote_ip + ":" + std::to_string(c->remote_port);
            int one = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        c->peer = c->who.uid ? "uid:" + std::to_string(*c->who.uid) : peer_address(fd, ss);
        {
            std::lock_guard lock(conn_mu_);
            if (conn_count_ >= options_.max_connections) {
                // Red team, 2026-12-05: connections that send nothing from many addresses (all of
                // 127.0.0.0/8 is any local user's) filled the cap and every client, the Unix
                // socket's too, got 503. The largest peer's oldest connection with no
                // authenticated request in progress makes way.
                if (!evict_idle_of_largest_peer()) {
                    refuse(std::move(c), "503 Service Unavailable", "busy", "too many connections, retry later");
                    continue;
                }
            }
            std::list<Connection*>& of_peer = peer_conns_[c->peer];
            if (of_peer.size() >= options_.max_connections_per_peer) {
                // Red team K1: the cap is counted before any authentication, so connections that
                // send nothing from a shared address (localhost, a NAT, a proxy) locked out every
                // token holder there. The peer's oldest connection with no authenticated request
                // in progress makes way; only when all of them are serving one is the newcomer
                // refused.
                auto idle = std::find_if(of_peer.begin(), of_peer.end(), [](const Connection* o) { return o->idle; });
                if (idle == of_peer.end()) {
                    refuse(std::move(c), "429 Too Many Requests", "too_many_connections",
                           "this address (or uid) holds its " + std::to_string(options_.max_connections_per_peer) +
                               " connections (--max-connections-per-peer), all serving requests; retry later");
                    service_.connection_refused_per_peer();
                    continue;
                }
                evict(of_peer, idle);
            }
            of_peer.push_back(c.get());
            ++conn_count_;
            ++serving_;
            conn_fds_.insert(fd);
        }
        // No thread to be had (a low TasksMax, a spent pids.max) is this connection's 503, not
        // std::terminate: twenty idle connections in a pids cgroup of 20 ended the daemon and
        // every client's runs (red team, 2026-12-07). The thread owns c once it exists.
        Connection* const raw = c.get();
        try {
            std::thread([this, raw] { serve(std::unique_ptr<Connection>(raw)); }).detach();
            (void)c.release();
        } catch (const std::system_error&) {
            std::lock_guard lock(conn_mu_);
            leave_counts(*c);
            stop_serving(fd);
            refuse(std::move(c), "503 Service Unavailable", "busy", "no thread to serve this connection, retry later");
        }
    }
}

void HttpFrontend::leave_counts(Connection& c) {
    if (auto it = peer_conns_.find(c.peer); it != peer_conns_.end()) {
        if (!c.evicted) it->second.remove(&c);
        if (it->second.empty()) peer_conns_.erase(it);
    }
    if (!c.evicted) --conn_count_;  // an evicted one left the count when it was evicted
}

// Plain: one send that never waits (a full socket buffer just loses the answer). TLS: the
// answer written in plain text read as a broken handshake to the client (WRONG_VERSION_NUMBER),
// which then did not retry (red team, 2026-12-06): answered in TLS on a thread of its own.
void HttpFrontend::refuse(std::unique_ptr<Connection> c, const std::string& status_line, const std::string& code,
                          const std::string& message) {
    const std::string out = refusal_response(status_line, code, message);
    const int fd = c->fd.get();
    if (!c->listener->tls) {
        if (::send(fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
        }
        return;  // closed with c
    }
    if (tls_refusing_ >= kMaxTlsRefusals) return;
    // Counted once the thread exists (it ends under conn_mu_, held here): a thread that could
    // not be made (the overload this answers) must not leave serving_ counted for stop().
    std::thread refusal;
    try {
        refusal = std::thread([this, c = std::move(c), out]() mutable {
            const int fd = c->fd.get();
            const auto deadline = Clock::now() + kTlsRefusalTime;
            if (accept_tls(*c, c->listener->tls.get(), deadline)) {
                SSL* ssl = c->ssl.get();
                const int len = static_cast<int>(out.size());
                if (ssl_until(ssl, fd, deadline, [&] { return SSL_write(ssl, out.data(), len); }) == len) SSL_shutdown(ssl);
            }
            std::lock_guard lock(conn_mu_);
            --tls_refusing_;
            end_thread(std::move(c));
        });
    } catch (const std::system_error&) {
        return;  // closed unanswered (the lambda, and the connection in it, are gone)
    }
    ++tls_refusing_;
    ++serving_;  // stop() waits for it, and shuts its socket down past the grace
    conn_fds_.insert(fd);
    refusal.detach();
}

void HttpFrontend::evict(std::list<Connection*>& of_peer, std::list<Connection*>::iterator victim) {
    (*victim)->evicted = true;
    ::shutdown((*victim)->fd.get(), SHUT_RDWR);  // its thread ends; closed by it, under conn_mu_
    of_peer.erase(victim);
    --conn_count_;  // gone for every count now; its thread is still counted in serving_
}

bool HttpFrontend::evict_idle_of_largest_peer() {
    std::list<Connection*>* largest = nullptr;
    std::list<Connection*>::iterator victim;
    for (auto& [peer, conns] : peer_conns_) {
        if (largest && conns.size() < largest->size()) continue;
        auto idle = std::find_if(conns.begin(), conns.end(), [](const Connection* o) { return o->idle; });
        if (idle == conns.end()) continue;
        // Of peers as large, the one whose idle connection came first (not the first by name).
        if (largest && conns.size() == largest->size() && (*victim)->accepted <= (*idle)->accepted) continue;
        largest = &conns;
        victim = idle;
    }
    if (!largest) return false;
    evict(*largest, victim);
    return true;
}

void HttpFrontend::serve(std::unique_ptr<Connection> c) {
    const int fd = c->fd.get();
    tl_conn = c.get();
    // The handshake has a deadline like a request's.
    if (c->listener->tls) accept_tls(*c, c->listener->tls.get(), Clock::now() + options_.request_timeout);
    if (!c->listener->tls || c->ssl) {
        ConnStream strm(fd, c->ssl.get(), options_.write_timeout, c->remote_ip, c->remote_port);
        c->stream = &strm;
        // httplib would apply a range itself, unchecked against the file's size: it is taken
        // from the request here and applied by the download handler (set_range_reply).
        const std::function<void(httplib::Request&)> take_range = [&c](httplib::Request& req) {
            if (req.ranges.size() == 1) c->range = req.ranges.front();
            req.ranges.clear();
        };
        for (size_t n = 0; n < options_.keep_alive_max && !stopping_; ++n) {
            // Idle between requests for at most keep_alive_timeout; then the request has its deadline.
            if (n > 0 && !strm.has_buffered() && !host::fd_ready(fd, POLLIN, Clock::now() + options_.keep_alive_timeout))
                break;
            strm.set_deadline(Clock::now() + options_.request_timeout);
            strm.set_write_deadline(Clock::time_point::max());
            strm.uncap();
            strm.cap_reads(kMaxHeadBytes);  // until admit() has the head
            c->reading_head = true;
            c->range.reset();
            c->who.token_id.clear();
            bool closed = false;
            const bool last = n + 1 == options_.keep_alive_max || stopping_;
            const bool served = process_request(strm, last, closed, take_range) && strm.flush();
            c->body_hold.reset();  // the request (and its body) is done with
            c->body_quota.reset();
            c->reply_run.reset();
            c->admitted = false;
            {
                std::lock_guard lock(conn_mu_);
                c->idle = true;  // done: until its next request is authenticated, a newcomer may displace it
            }
            if (!served) break;
            if (closed || c->close_after) break;
        }
        if (c->ssl) SSL_shutdown(c->ssl.get());
        c->stream = nullptr;
    }
    tl_conn = nullptr;
    {
        std::lock_guard lock(conn_mu_);
        leave_counts(*c);
        end_thread(std::move(c));
    }
}

void HttpFrontend::end_thread(std::unique_ptr<Connection> c) {
    const int fd = c->fd.get();
    c.reset();
    stop_serving(fd);
}

void HttpFrontend::stop_serving(int fd) {
    conn_fds_.erase(fd);
    --serving_;
    // Under the lock: once it is released, stop() may return and this object be destroyed.
    conn_cv_.notify_all();
}

void HttpFrontend::stop(std::chrono::milliseconds grace) {
    if (stopping_.exchange(true)) return;
    uint64_t one = 1;
    if (::write(stop_fd_.get(), &one, sizeof one) < 0) {
    }
    for (auto& l : listeners_) {
        if (l->thread.joinable()) l->thread.join();
        if (l->spec.kind == ListenSpec::Kind::Unix) ::unlink(l->spec.path.c_str());
        l->fd.reset();
    }
    std::unique_lock lock(conn_mu_);
    conn_cv_.wait_for(lock, grace, [this] { return serving_ == 0; });
    // Past the grace: running executions are cancelled and the connections closed under them.
    service_.cancel_all();
    for (int fd : conn_fds_) ::shutdown(fd, SHUT_RDWR);
    conn_cv_.wait(lock, [this] { return serving_ == 0; });
}

}  // namespace microvm::service
