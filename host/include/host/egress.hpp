// An execution's way out under a host allow- or block-list (issue 12): the egress proxy
// (proxy/) opened for the execution, the environment that points the program at it, and the
// records of every attempt. Shared by every OS-level backend: the process backend hands the
// proxy a listening socket it bound on 127.0.0.1:kEgressPort inside the sandbox's own network
// namespace; the qemu backend one it bound on the VM's gateway address (10.0.2.2:kEgressPort)
// in QEMU's network namespace, whose only link is the VM's.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "microvm/error.hpp"
#include "microvm/policy.hpp"
#include "proxy/limits.hpp"
#include "proxy/proxy.hpp"
#include "proxy/resolver.hpp"
#include "rtfs/effects.hpp"

namespace microvm::host {

// The port the proxy answers on inside a sandbox (its loopback is its own): Squid's, which
// tools and users recognise as a proxy's.
inline constexpr uint16_t kEgressPort = 3128;

// Whether a policy is enforced by the egress proxy (allow- and block-lists of hosts).
bool needs_egress(const NetworkPolicy& policy);

// Where the program reaches the proxy: its sandbox's own loopback (process), or the VM's
// gateway address on the VM's private link (qemu; SandboxProvider::egress_proxy_host).
inline constexpr const char* kLoopbackEgressHost = "127.0.0.1";

// The program's proxy variables, both spellings: http_proxy, https_proxy (HTTP CONNECT),
// all_proxy (SOCKS5 with names resolved by the proxy), and empty no_proxy: nothing bypasses it.
std::vector<std::string> egress_environment(const std::string& host = kLoopbackEgressHost,
                                            uint16_t port = kEgressPort);
// env with every variable egress_environment() sets removed, then those appended.
void apply_egress_environment(std::vector<std::string>& env,
                              const std::string& host = kLoopbackEgressHost,
                              uint16_t port = kEgressPort);

// The provider settings of the proxy (merged into a provider's config_schema):
// network_max_connections, network_max_bytes_mb, network_idle_timeout_ms,
// network_refused_ranges (IP addresses and CIDR ranges; names and ports refused).
nlohmann::json egress_settings_schema();
// What every provider that opens an EgressSession does at initialization: its settings' limits,
// or the error naming the provider ("provider 'wasm': network_refused_ranges: ...").
Expected<proxy::Limits> provider_egress_limits(std::string_view provider, const nlohmann::json& settings);

// TESTS ONLY (set through the C++ API, never from settings or the CLI): a resolver of test names
// and leave to reach 127.0.0.0/8, where test servers listen.
struct EgressTestHooks {
    std::shared_ptr<proxy::Resolver> resolver;
    bool permit_loopback_targets = false;
};

class EgressSession {
  public:
    // Opens the execution's context on the process's shared proxy (started on first use; its
    // one thread serves every execution), or on a proxy of its own when tests give a resolver.
    static Expected<EgressSession> open(const NetworkPolicy& policy, const proxy::Limits& limits,
                                        const EgressTestHooks& hooks = {});
    EgressSession(EgressSession&&) noexcept = default;
    EgressSession& operator=(EgressSession&&) noexcept = default;

    // See proxy::Execution.
    Expected<void> adopt_listener(int fd) { return execution_.adopt_listener(fd); }
    Expected<void> listen_unix(const std::string& path) { return execution_.listen_unix(path); }
    // Listens on a Unix socket in a new directory private to the host (mode 0700, removed with
    // the session) and returns the socket's path: for a proxy client in the host itself (the
    // wasm provider's http_fetch) or a VM's forward, which no other local user can reach.
    Expected<std::string> listen_private_unix();
    // Closes the listeners, cuts what is open, and returns every attempt's record.
    std::vector<rtfs::NetworkRequest> finish() { return execution_.finish(); }

  private:
    EgressSession(std::shared_ptr<proxy::Proxy> own, proxy::Execution execution)
        : own_proxy_(std::move(own)), execution_(std::move(execution)) {}
    // listen_private_unix's directory, removed (after the listener) when the session goes.
    struct PrivateDir {
        std::string path;
        PrivateDir() = default;
        PrivateDir(PrivateDir&& o) noexcept : path(std::exchange(o.path, {})) {}
        PrivateDir& operator=(PrivateDir&& o) noexcept;
        ~PrivateDir();
    };
    PrivateDir private_dir_;
    std::shared_ptr<proxy::Proxy> own_proxy_;  // tests' proxy; null on the shared one
    proxy::Execution execution_;  // last: closed (socket file removed) before the dir goes
};

}  // namespace microvm::host
