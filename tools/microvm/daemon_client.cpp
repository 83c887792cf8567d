#include "daemon_client.hpp"
#include "host/sys_error.hpp"

#include <arpa/inet.h>
#include <strings.h>

#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include <memory>

#include "daemon_peer.hpp"
#include "daemon_unix_client.hpp"
#include "microvm/private_file.hpp"
#include "microvm/token_file.hpp"
#include "rtfs/ascii_text.hpp"
#include "rtfs/host/curl_library.hpp"

namespace microvm::cli {

namespace {

using rtfs::host::CurlLibrary;
using Why = DaemonFailure::Why;

rtfs::Unexpected<DaemonFailure> failure(Why why, std::string message) {
    return rtfs::unexpected(DaemonFailure{why, std::move(message)});
}

struct Transfer {
    const CurlLibrary* curl;
    CURL* easy;
    const CancelToken* cancel;
    const std::function<void(std::string_view)>* on_piece;
    DaemonReply reply;
    size_t over_cap = 0;  // the cap a reply went over, when it did
    std::string refused_peer;  // why the daemon's end was not trusted (daemon_peer.hpp)
    std::vector<curl_socket_t> sockets;  // every socket curl made (it may try several addresses)
    bool unix_address = false;
};

int on_socket(void* user, curl_socket_t fd, curlsocktype) {
    static_cast<Transfer*>(user)->sockets.push_back(fd);
    return CURL_SOCKOPT_OK;
}

// Once connected, before a byte of the request (its token) is sent: over unix: and plain http
// the daemon's end must be root's or this user's (daemon_peer.hpp).
int on_connected(void* user, char* peer_ip, char* local_ip, int peer_port, int local_port) {
    auto* t = static_cast<Transfer*>(user);
    // curl's handle does not name its socket before the transfer ends: the one made for this
    // connection is the one connected to these addresses.
    const curl_socket_t fd = connected_socket(t->sockets, t->unix_address, peer_ip, peer_port, local_ip, local_port);
    if (fd == CURL_SOCKET_BAD) {
        t->refused_peer = "cannot tell who serves the connection";
        return CURL_PREREQFUNC_ABORT;
    }
    auto owner = daemon_socket_owner(fd);
    if (!owner) {
        t->refused_peer = owner.error().message;
        return CURL_PREREQFUNC_ABORT;
    }
    if (*owner != 0 && *owner != ::geteuid()) {
        t->refused_peer = "it is served by uid " + std::to_string(*owner) +
                          ", neither root nor this user (any local user may listen on a loopback port or "
                          "socket path the daemon is not holding); nothing was sent";
        return CURL_PREREQFUNC_ABORT;
    }
    return CURL_PREREQFUNC_OK;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const size_t len = size * n;
    long status = 0;
    t->curl->easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    if (*t->on_piece && status == 200) {
        (*t->on_piece)(std::string_view(data, len));
        return len;
    }
    // The CLI's memory is not the daemon's to fill (a result is large, an error document small).
    const size_t cap = status == 200 ? kMaxResultBytes : kMaxErrorReplyBytes;
    if (t->reply.body.size() + len > cap) {
        t->over_cap = cap;
        return 0;  // libcurl ends the transfer with a write error
    }
    t->reply.body.append(data, len);
    return len;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const size_t len = size * n;
    std::string_view line(data, len);
    constexpr std::string_view kName = "retry-after:";
    if (line.size() > kName.size() && strncasecmp(line.data(), kName.data(), kName.size()) == 0) {
        t->reply.retry_after = std::string(rtfs::trim_ascii(line.substr(kName.size())));
    }
    return len;
}

// Called about once a second while the request waits: how a cancellation gets noticed.
int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<Transfer*>(user)->cancel->cancelled() ? 1 : 0;
}

// The host part of http://HOST[:PORT][/...] ([v6] in brackets), lower-cased.
std::string url_host(std::string_view rest) {
    std::string_view host;
    if (rest.starts_with('[')) {
        host = rest.substr(1, rest.find(']') == std::string_view::npos ? 0 : rest.find(']') - 1);
    } else {
        host = rest.substr(0, rest.find_first_of(":/?#"));
    }
    return rtfs::lower_ascii(host);
}

bool is_loopback_host(const std::string& host) {
    if (host == "localhost" || host.ends_with(".localhost") || host == "::1") return true;
    in_addr v4{};
    return ::inet_pton(AF_INET, host.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

}  // namespace

Expected<DaemonAddress> parse_daemon_address(std::string_view text) {
    DaemonAddress a;
    a.text = std::string(text);
    if (text.starts_with("unix:")) {
        a.unix_path = std::string(text.substr(5));
        if (a.unix_path.empty())
            return fail(Failure::Kind::InvalidConfig, "--daemon unix: needs the socket's path (unix:PATH)");
        a.base_url = "http://localhost";  // the host is not used on a Unix socket
        return a;
    }
    for (std::string_view scheme : {"http://", "https://"}) {
        if (!text.starts_with(scheme)) continue;
        if (text.size() == scheme.size() || text[scheme.size()] == '/')
            return fail(Failure::Kind::InvalidConfig, "--daemon " + a.text + ": no host");
        a.base_url = std::string(text);
        while (a.base_url.ends_with('/')) a.base_url.pop_back();
        a.cleartext_off_host = scheme == "http://" && !is_loopback_host(url_host(text.substr(scheme.size())));
        return a;
    }
    return fail(Failure::Kind::InvalidConfig, "--daemon " + a.text +
                                                  ": expected unix:PATH, http://HOST:PORT or https://HOST:PORT");
}

Expected<std::string> read_token_file(const std::string& path) {
    const std::string what = "token file " + path;
    RTFS_TRY(const std::string text, read_private_file(path, what, kMaxTokenFileBytes));
    // The daemon's own grammar (token_file.hpp): the first token, as the daemon reads it.
    RTFS_TRY(std::vector<TokenLine> tokens, parse_token_file(text, what));
    return std::move(tokens.front().secret);
}

rtfs::Expected<DaemonReply, DaemonFailure> post_json(
    const DaemonConnection& conn, const std::string& path, const std::string& body,
    const CancelToken& cancel, const std::function<void(std::string_view)>& on_piece) {
    if (!conn.address.unix_path.empty()) return post_over_unix_socket(conn, path, body, cancel, on_piece);
    auto loaded = rtfs::host::curl_library();
    if (!loaded) return failure(Why::Unreachable, loaded.error());
    const CurlLibrary& curl = **loaded;
    std::unique_ptr<CURL, void (*)(CURL*)> easy(curl.easy_init(), curl.easy_cleanup);
    if (!easy) return failure(Why::Unreachable, "cannot create a libcurl handle");
    CURL* c = easy.get();

    curl_slist* raw_headers = nullptr;
    auto append = [&](const std::string& h) {
        if (curl_slist* next = curl.slist_append(raw_headers, h.c_str())) raw_headers = next;
    };
    append("Content-Type: application/json");
    append("Expect:");  // no 100-continue round trip
    if (conn.token) append("Authorization: Bearer " + *conn.token);
    std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers(raw_headers, curl.slist_free_all);

    Transfer t{&curl, c, &cancel, &on_piece, {}, 0};
    char errbuf[CURL_ERROR_SIZE] = {};
    const std::string url = conn.address.base_url + path;
    curl.easy_setopt(c, CURLOPT_URL, url.c_str());
    if (!conn.address.unix_path.empty())
        curl.easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, conn.address.unix_path.c_str());
    curl.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl.easy_setopt(c, CURLOPT_PROXY, "");  // never through $http_proxy: the token goes to the daemon only
    if (conn.ca_file) curl.easy_setopt(c, CURLOPT_CAINFO, conn.ca_file->c_str());
    curl.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl.easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl.easy_setopt(c, CURLOPT_USERAGENT, "microvm-cli/1");
    curl.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    // No overall time limit: an execution runs as long as its policy's timeout lets it.
    curl.easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl.easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl.easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl.easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl.easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl.easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl.easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl.easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl.easy_setopt(c, CURLOPT_XFERINFODATA, &t);
    t.unix_address = !conn.address.unix_path.empty();
    // Checked where a token may go without TLS (unix:, loopback http); plain http to another
    // host carries no token (cleartext_off_host) and its peer cannot be told from here.
    if (t.unix_address || (!conn.address.base_url.starts_with("https://") && !conn.address.cleartext_off_host)) {
        curl.easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, on_socket);
        curl.easy_setopt(c, CURLOPT_SOCKOPTDATA, &t);
        curl.easy_setopt(c, CURLOPT_PREREQFUNCTION, on_connected);
        curl.easy_setopt(c, CURLOPT_PREREQDATA, &t);
    }

    const CURLcode rc = curl.easy_perform(c);
    if (rc == CURLE_OK) {
        curl.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t.reply.status);
        return std::move(t.reply);
    }
    const std::string where = "the daemon at " + conn.address.text;
    if (!t.refused_peer.empty()) return failure(Why::Unreachable, "refused " + where + ": " + t.refused_peer);
    if (rc == CURLE_ABORTED_BY_CALLBACK || cancel.cancelled())
        return failure(Why::Cancelled, "cancelled");
    std::string detail = errbuf[0] ? errbuf : curl.easy_strerror(rc);
    if (t.over_cap) {
        return failure(Why::Broken, where + " sent a reply of more than " +
                                        std::to_string(t.over_cap >> 20) + " MiB; it was cut off");
    }
    switch (rc) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_OPERATION_TIMEDOUT: {
            long os_errno = 0;
            curl.easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
            // On a Unix socket curl's text names "localhost port 80"; the errno says what happened.
            if (!conn.address.unix_path.empty() && os_errno) detail = host::errno_text(static_cast<int>(os_errno));
            return failure(Why::Unreachable, "cannot connect to " + where + ": " + detail + " (is microvmd running there?)");
        }
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
            return failure(Why::Unreachable, "TLS with " + where + " failed: " + detail);
        default:
            return failure(Why::Broken, "the connection to " + where + " ended before its answer: " + detail);
    }
}

}  // namespace microvm::cli
