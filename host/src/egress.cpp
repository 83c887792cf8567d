#include "host/egress.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <mutex>
#include <string>

#include "host/stale_dirs.hpp"
#include "host/sys_error.hpp"
#include "host/trusted_state.hpp"
#include "microvm/trusted_path.hpp"

namespace microvm::host {
namespace {

constexpr const char* kVariables[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                      "all_proxy",  "ALL_PROXY",  "no_proxy",    "NO_PROXY"};

// The process's proxy: started on first use, never stopped (its thread sleeps in epoll_wait
// between executions; the OS reclaims it at exit).
Expected<proxy::Proxy*> shared_proxy() {
    static std::mutex mutex;
    static proxy::Proxy* shared = nullptr;
    std::lock_guard lock(mutex);
    if (shared) return shared;
    auto* made = new proxy::Proxy();  // leaked on purpose: no join at exit behind static dtors
    if (auto started = made->start(); !started) {
        delete made;
        return rtfs::unexpected(std::move(started).error());
    }
    shared = made;
    return shared;
}

// One entry of network_refused_ranges ("168.63.129.16", "10.0.0.0/8", "[fd00::]/8", "fd00::1")
// in its canonical policy form, or an InvalidConfig error naming it: names and ports refused.
Expected<std::string> parse_refused_range(std::string_view text) {
    auto bad = [&](const std::string& why) {
        return fail(Failure::Kind::InvalidConfig,
                    "network_refused_ranges: '" + std::string(text) + "' " + why);
    };
    // An address, bracketed or not, with an optional /LEN; never a name, never a port.
    std::string_view address = text.substr(0, text.find('/'));
    if (address.size() >= 2 && address.front() == '[' && address.back() == ']') {
        address = address.substr(1, address.size() - 2);
    } else if (address.find(':') != std::string_view::npos && text.find('/') != std::string_view::npos) {
        return bad("is not an IP address or CIDR range (write an IPv6 range as [fd00::]/8)");
    }
    auto host = canonical_host(address);
    if (!host || host->kind == CanonicalHost::Kind::Name || text.find("]:") != std::string_view::npos) {
        return bad("is not an IP address or CIDR range");
    }
    const bool v6 = host->kind == CanonicalHost::Kind::IPv6;
    const std::string entry = v6 && text.front() != '[' ? "[" + std::string(text) + "]" : std::string(text);
    auto canonical = parse_host_entry(entry);
    if (!canonical) return bad("is not an IP address or CIDR range: " + canonical.error().message);
    return *canonical;
}

// The settings' limits (validated against egress_settings_schema already) and refused ranges.
Expected<proxy::Limits> parse_egress_limits(const nlohmann::json& s) {
    proxy::Limits limits;
    if (!s.is_object()) return limits;
    auto positive = [&](const char* key) -> std::optional<uint64_t> {
        auto it = s.find(key);
        if (it == s.end() || !it->is_number_integer() || it->get<int64_t>() <= 0) return {};
        return static_cast<uint64_t>(it->get<int64_t>());
    };
    if (auto n = positive("network_max_connections")) limits.max_connections = static_cast<uint32_t>(*n);
    if (auto mb = positive("network_max_bytes_mb")) limits.max_bytes = *mb << 20;
    if (auto ms = positive("network_idle_timeout_ms")) {
        limits.idle_timeout = std::chrono::milliseconds(*ms);
    }
    if (auto it = s.find("network_refused_ranges"); it != s.end() && it->is_array()) {
        for (const auto& item : *it) {
            RTFS_TRY(std::string range, parse_refused_range(item.is_string() ? item.get<std::string>() : ""));
            limits.refused_ranges.push_back(std::move(range));
        }
    }
    return limits;
}

}  // namespace

bool needs_egress(const NetworkPolicy& policy) {
    return policy.kind == NetworkPolicy::Kind::AllowList ||
           policy.kind == NetworkPolicy::Kind::DenyList;
}

std::vector<std::string> egress_environment(const std::string& host, uint16_t port) {
    const std::string address = host + ":" + std::to_string(port);
    const std::string http = "http://" + address;
    const std::string socks = "socks5h://" + address;
    return {"http_proxy=" + http,   "HTTP_PROXY=" + http, "https_proxy=" + http,
            "HTTPS_PROXY=" + http,  "all_proxy=" + socks, "ALL_PROXY=" + socks,
            "no_proxy=",            "NO_PROXY="};
}

void apply_egress_environment(std::vector<std::string>& env, const std::string& host,
                              uint16_t port) {
    std::erase_if(env, [](const std::string& entry) {
        for (const char* name : kVariables) {
            const std::string prefix = std::string(name) + "=";
            if (entry.compare(0, prefix.size(), prefix) == 0) return true;
        }
        return false;
    });
    for (std::string& entry : egress_environment(host, port)) env.push_back(std::move(entry));
}

nlohmann::json egress_settings_schema() {
    return {{"network_max_connections",
             {{"type", "integer"},
              {"minimum", 1},
              {"maximum", 1000000},
              {"description",
               "allow/block lists: connections the egress proxy opens per execution (default "
               "256); over it a connection is refused and recorded"}}},
            // The maxima keep the proxy's arithmetic whole: MiB are shifted into bytes, and the
            // idle timeout is added to the clock (red team, 2026-12-07: 2^44 + 1 MiB was a limit
            // of 1 MiB, and the largest timeout cut every connection at once).
            {"network_max_bytes_mb",
             {{"type", "integer"},
              {"minimum", 1},
              {"maximum", int64_t{1} << 30},
              {"description",
               "allow/block lists: MiB relayed per execution, both ways (default 4096)"}}},
            {"network_idle_timeout_ms",
             {{"type", "integer"},
              {"minimum", 100},
              {"maximum", 7 * 24 * 3600 * 1000},
              {"description",
               "allow/block lists: a connection with no byte moving this long is cut (default "
               "60000)"}}},
            {"network_refused_ranges",
             {{"type", "array"},
              {"items", {{"type", "string"}}},
              {"description",
               "allow/block lists: IP addresses and CIDR ranges (\"203.0.113.7\", "
               "\"[2001:db8::]/32\") no connection through the egress proxy may reach, whatever "
               "an execution's policy lists: this host's additions to the built-in filter of "
               "loopback, private, link-local and other non-internet ranges (a cloud's metadata "
               "service on a public address, a site's own networks)"}}}};
}

Expected<proxy::Limits> provider_egress_limits(std::string_view provider, const nlohmann::json& settings) {
    auto limits = parse_egress_limits(settings);
    if (!limits) {
        return fail(limits.error().kind, "provider '" + std::string(provider) + "': " + limits.error().message);
    }
    return limits;
}

EgressSession::PrivateDir& EgressSession::PrivateDir::operator=(PrivateDir&& o) noexcept {
    if (this != &o) {
        if (!path.empty()) ::rmdir(path.c_str());
        path = std::exchange(o.path, {});
    }
    return *this;
}

EgressSession::PrivateDir::~PrivateDir() {
    if (!path.empty()) ::rmdir(path.c_str());
}

namespace {

constexpr std::string_view kDirPrefix = "microvm-egress-";

// protected_runtime_base() (trusted_state.hpp) when the user has one; else $TMPDIR or /tmp
// (protected: false).
struct SocketBase {
    std::string path;
    bool protected_place = true;
};

SocketBase private_socket_base() {
    if (auto base = protected_runtime_base()) return {*base};
    const char* tmpdir = std::getenv("TMPDIR");
    return {tmpdir && *tmpdir == '/' ? tmpdir : "/tmp", false};
}

// A new directory of ours, mode 0700, in base. In a protected place it is named by owner
// (stale_dirs.hpp), so that what a killed process left is swept here; elsewhere by mkdtemp,
// whose name no other user can plant ahead.
Expected<std::string> make_private_dir(const SocketBase& base) {
    if (!base.protected_place) {
        std::string tmpl = base.path + "/" + std::string(kDirPrefix) + "XXXXXX";
        if (!::mkdtemp(tmpl.data())) return sys_failure("create a directory for the egress proxy in " + base.path, errno);
        return tmpl;
    }
    remove_dirs_of_dead_owners(base.path, kDirPrefix);
    const std::string dir = base.path + "/" + owned_name(kDirPrefix);
    if (::mkdir(dir.c_str(), 0700) != 0)
        return sys_failure("create a directory for the egress proxy in " + base.path, errno);
    return dir;
}

}  // namespace

Expected<std::string> EgressSession::listen_private_unix() {
    if (private_dir_.path.empty()) {
        // Where every run protects state from sandboxes (trusted_state.hpp: /run/microvm*, and a
        // user's /run/user/<uid>/microvm*). In /tmp, a concurrent sandbox given rw=/tmp acted as
        // root there, entered the 0700 directory and put a symlink in the socket's place, and
        // the fetches followed it to any Unix socket of the host (red team, 2026-12-05). Never
        // root's $TMPDIR: under `sudo -E` it is a user's directory, and that user renamed the
        // new directory away, listened at its name and answered root's fetches (a review,
        // 2026-12-05). A user without a runtime directory of their own falls back to $TMPDIR or
        // /tmp (a sandbox of theirs with rw= over it can redirect only their own fetches);
        // another user's directory there is refused below.
        RTFS_TRY(std::string dir, make_private_dir(private_socket_base()));
        auto owned = owned_real_path(dir, "egress proxy directory");
        if (!owned) {
            ::rmdir(dir.c_str());
            return rtfs::unexpected(std::move(owned).error());
        }
        private_dir_.path = *owned;  // mode 0700, ours, where no other user can rename it
    }
    const std::string path = private_dir_.path + "/proxy.sock";
    RTFS_CHECK(execution_.listen_unix(path));
    return path;
}

Expected<EgressSession> EgressSession::open(const NetworkPolicy& policy,
                                            const proxy::Limits& limits,
                                            const EgressTestHooks& hooks) {
    proxy::ExecutionOptions options{.policy = policy,
                                    .limits = limits,
                                    .permit_loopback_targets = hooks.permit_loopback_targets};
    if (hooks.resolver) {
        auto own = std::make_shared<proxy::Proxy>(proxy::ProxyOptions{.resolver = hooks.resolver});
        RTFS_CHECK(own->start());
        RTFS_TRY(proxy::Execution execution, own->open(std::move(options)));
        return EgressSession(std::move(own), std::move(execution));
    }
    RTFS_TRY(proxy::Proxy* shared, shared_proxy());
    RTFS_TRY(proxy::Execution execution, shared->open(std::move(options)));
    return EgressSession(nullptr, std::move(execution));
}

}  // namespace microvm::host
