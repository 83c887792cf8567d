// The default capability host: performs RTFS capability calls for real (console, files,
// environment, time, HTTP through libcurl) and records every effect it performs or attempts.
//
//   rtfs::host::DefaultHost host;                 // stdout/stderr, real environment
//   rtfs::Interpreter interp({.security = rtfs::RuntimeContext::full(), .host = &host});
//
// The runtime context is checked by the interpreter before a call reaches the host; the
// optional gates let an embedding bound capabilities further (a sandbox's network and file
// system policy). A host may be used by one evaluation at a time; effects() may be read from
// any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "rtfs/effects.hpp"
#include "rtfs/host.hpp"
#include "rtfs/value.hpp"

namespace rtfs::host {

// Returns a denial reason, or nullopt to allow a connection to host:port.
using NetworkGate = std::function<std::optional<std::string>(const std::string& host, int port)>;
// Returns a denial reason, or nullopt to allow `operation` ("read", "write", "exists") on the
// path (absolute, symlinks of its existing part resolved).
using FileGate =
    std::function<std::optional<std::string>(const std::string& path, std::string_view operation)>;
// Receives text to write (println / log). Must not throw.
using TextSink = std::function<void(std::string_view)>;

struct HostOptions {
    TextSink out;  // ccos.io.println; empty = stdout
    TextSink err;  // ccos.io.log; empty = stderr
    // ccos.system.get-env reads this map; nullopt = the process environment.
    std::optional<std::map<std::string, std::string>> environment;

    // Stop sleeping / fetching when this becomes true or the deadline passes (an Interrupted
    // error, like the interpreter's own interruption). Usually the same as the EvalOptions'.
    const std::atomic<bool>* cancel = nullptr;
    std::optional<std::chrono::steady_clock::time_point> deadline;

    uint64_t max_file_bytes = 64ull << 20;           // read-file / write-file size cap; 0 = none
    uint64_t max_response_bytes = 16ull << 20;       // http-fetch body cap; 0 = none
    std::chrono::milliseconds http_timeout{30'000};  // whole request
    std::chrono::milliseconds http_connect_timeout{10'000};
    int max_redirects = 5;  // followed by the host itself so that every hop passes the gate

    NetworkGate network_gate;  // empty = every host allowed
    // Where http-fetch sends its requests ("http://127.0.0.1:3128"): the egress proxy of a
    // sandbox under an allow/block list. Empty: straight to the host (no environment variable
    // is consulted). The egress proxy on a Unix socket ("socks5h://localhost/path") takes
    // https:// through SOCKS5 and http:// as an absolute-form request on the same socket.
    std::string http_proxy;
    // With the egress proxy on a Unix socket: each connection to it is the descriptor this
    // returns (connected already; -1: none), never a connect() by path. For a process confined
    // so that it can open no socket itself (the wasm engine's, host/confined_fork.hpp).
    std::function<int()> proxy_socket;
    FileGate file_gate;        // empty = every path allowed
};

class DefaultHost : public rtfs::Host {
  public:
    explicit DefaultHost(HostOptions options = {});

    Result<Value> call(std::string_view capability_id, std::span<const Value> args) override;

    // A snapshot of the effects recorded so far.
    EffectLog effects() const;

    // Options may be adjusted between evaluations (e.g. a new deadline per REPL input).
    HostOptions& options() { return opts_; }
    const HostOptions& options() const { return opts_; }

    // Used by the capability implementations.
    void record(NetworkRequest r);
    void record(FileOperation op);

  private:
    HostOptions opts_;
    mutable std::mutex log_mutex_;
    EffectLog log_;
};

}  // namespace rtfs::host
