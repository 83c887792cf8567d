#include "service/listeners.hpp"
#include "host/unix_address.hpp"
#include "host/sys_error.hpp"
#include "microvm/trusted_path.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <memory>
#include <cstdlib>
#include <cstring>

#include "host/paths.hpp"
#include "microvm/decimal.hpp"

namespace microvm::service {

std::string ListenSpec::text() const {
    return kind == Kind::Unix ? "unix:" + path : "tcp:" + host + ":" + std::to_string(port);
}

Expected<ListenSpec> parse_listen(const std::string& text) {
    ListenSpec s;
    if (text.starts_with("unix:")) {
        s.kind = ListenSpec::Kind::Unix;
        s.path = text.substr(5);
        if (s.path.empty() || s.path[0] != '/')
            return fail(Failure::Kind::InvalidConfig, "--listen " + text + ": the socket path must be absolute");
        if (!host::unix_address(s.path))
            return fail(Failure::Kind::InvalidConfig, "--listen " + text + ": the socket path is too long or holds a NUL");
        return s;
    }
    if (text.starts_with("tcp:")) {
        s.kind = ListenSpec::Kind::Tcp;
        std::string rest = text.substr(4);
        size_t colon = rest.rfind(':');
        if (colon == std::string::npos || colon == 0)
            return fail(Failure::Kind::InvalidConfig, "--listen " + text + ": expected tcp:HOST:PORT");
        s.host = rest.substr(0, colon);
        if (s.host.size() > 2 && s.host.front() == '[' && s.host.back() == ']') s.host = s.host.substr(1, s.host.size() - 2);
        std::string port = rest.substr(colon + 1);
        const std::optional<int> number = parse_decimal<int>(port);
        if (!number || *number > 65535)
            return fail(Failure::Kind::InvalidConfig, "--listen " + text + ": bad port '" + port + "'");
        s.port = *number;
        return s;
    }
    return fail(Failure::Kind::InvalidConfig, "--listen " + text + ": expected unix:PATH or tcp:HOST:PORT");
}

namespace {

constexpr const char* kRootRuntimeDir = "/run/microvmd";

// A user's runtime directory: $XDG_RUNTIME_DIR, else /run/user/UID (never root's, above).
std::string user_runtime_dir() {
    if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg && xdg[0] == '/') return xdg;
    return "/run/user/" + std::to_string(::geteuid());
}

}  // namespace

std::string default_state_dir() {
    return ::geteuid() == 0 ? std::string(kRootRuntimeDir) + "/state" : user_runtime_dir() + "/microvmd";
}

std::string default_unix_socket_path() {
    return ::geteuid() == 0 ? std::string(kRootRuntimeDir) + "/microvmd.sock" : user_runtime_dir() + "/microvmd.sock";
}

Expected<void> make_root_runtime_dir() {
    if (::mkdir(kRootRuntimeDir, 0700) != 0 && errno != EEXIST)
        return host::sys_failure(std::string("cannot create ") + kRootRuntimeDir, errno);
    return Ok{};
}

namespace {

Expected<void> check_socket_dir(const std::string& dir) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0)
        return host::sys_failure("socket directory " + dir, errno);
    if (!S_ISDIR(st.st_mode)) return fail(Failure::Kind::SetupError, dir + " is not a directory");
    if (std::string fault = ownership_fault(st, "socket directory " + dir); !fault.empty())
        return fail(Failure::Kind::SetupError,
                    fault + ": another user could replace the socket; use a directory only this "
                            "user can write, such as $XDG_RUNTIME_DIR");
    return Ok{};
}

Expected<host::UniqueFd> open_unix(const std::string& path) {
    const std::string dir = host::parent_path(path);
    if (::geteuid() == 0 && path == default_unix_socket_path()) RTFS_CHECK(make_root_runtime_dir());
    RTFS_CHECK(check_socket_dir(dir));
    const std::optional<sockaddr_un> address = host::unix_address(path);
    if (!address) return fail(Failure::Kind::InvalidConfig, path + ": not a Unix socket path (too long or holds a NUL)");
    const sockaddr_un& addr = *address;
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode) || st.st_uid != ::geteuid())
            return fail(Failure::Kind::SetupError, path + " exists and is not this user's socket; refusing to replace it");
        // Live (another daemon answers) or stale (one died)?
        host::UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0)
            return fail(Failure::Kind::SetupError, path + ": another daemon is listening there");
        ::unlink(path.c_str());
    }
    host::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return host::sys_failure("socket", errno);
    // The mode is right from the start: there is no moment at which others could connect.
    mode_t old = ::umask(0177);
    int rc = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    int err = errno;
    ::umask(old);
    if (rc != 0) return host::sys_failure("bind " + path, err);
    if (::chmod(path.c_str(), 0600) != 0 || ::listen(fd.get(), 512) != 0)
        return host::sys_failure("listen " + path, errno);
    return fd;
}

Expected<host::UniqueFd> open_tcp(const std::string& host, int port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    std::string p = std::to_string(port);
    if (int rc = ::getaddrinfo(host.c_str(), p.c_str(), &hints, &res); rc != 0)
        return fail(Failure::Kind::InvalidConfig, "--listen tcp:" + host + ": " + ::gai_strerror(rc));
    std::unique_ptr<addrinfo, void (*)(addrinfo*)> guard(res, ::freeaddrinfo);
    host::UniqueFd fd(::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return host::sys_failure("socket", errno);
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.get(), res->ai_addr, res->ai_addrlen) != 0 || ::listen(fd.get(), 512) != 0)
        return host::sys_failure("listen tcp:" + host + ":" + p, errno);
    return fd;
}

}  // namespace

Expected<host::UniqueFd> open_listener(const ListenSpec& spec) {
    return spec.kind == ListenSpec::Kind::Unix ? open_unix(spec.path) : open_tcp(spec.host, spec.port);
}

int bound_port(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return -1;
    if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
    return -1;
}

}  // namespace microvm::service
