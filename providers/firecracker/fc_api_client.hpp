// Typed calls on one Firecracker process's API socket. Each call is one HTTP request on a fresh
// connection, bounded in time and in the size of the answer; a refusal by Firecracker comes back
// as FcError::Kind::Api naming the call, its status and Firecracker's fault_message.
//
// The order Firecracker enforces (and the fake in tests/providers/firecracker checks):
//   cold boot:  [logger, metrics], boot-source, machine-config, drives, vsock, then InstanceStart;
//               no configuration PUT after the start.
//   snapshot:   pause (PATCH /vm Paused), snapshot/create, then resume or kill.
//   restore:    on a fresh process, [logger, metrics], snapshot/load (resume_vm or PATCH /vm
//               Resumed afterwards); nothing else configured before the load.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "firecracker/fc_api_types.hpp"
#include "firecracker/fc_error.hpp"
#include "firecracker/fc_http.hpp"

namespace microvm::firecracker {

struct FcClientOptions {
    std::chrono::milliseconds call_timeout{5000};
    // InstanceStart and snapshot create/load write or map the guest's memory: seconds for a large
    // guest on a slow disk.
    std::chrono::milliseconds long_call_timeout{60000};
    size_t max_response_bytes = 64 * 1024;
};

class FcApiClient {
  public:
    explicit FcApiClient(std::string socket_path, FcClientOptions options = {});
    const std::string& socket_path() const { return socket_path_; }

    FcExpected<void> put_boot_source(const BootSource& b);
    FcExpected<void> put_drive(const Drive& d);
    FcExpected<void> put_machine_config(const MachineConfig& m);
    FcExpected<void> put_vsock(const VsockDevice& v);
    FcExpected<void> put_logger(const Logger& l);
    FcExpected<void> put_metrics(const Metrics& m);
    FcExpected<void> instance_start();
    FcExpected<void> send_ctrl_alt_del();  // x86_64: asks the guest to shut down
    FcExpected<void> pause();              // PATCH /vm Paused
    FcExpected<void> resume();             // PATCH /vm Resumed
    FcExpected<void> create_snapshot(const SnapshotCreate& s);
    FcExpected<void> load_snapshot(const SnapshotLoad& s);
    FcExpected<InstanceInfo> describe_instance();  // GET /

    // Polls GET / until Firecracker answers: its API socket appears shortly after the process
    // starts. Retries only while the socket is missing or refuses; any other failure, or the
    // deadline, ends the wait.
    FcExpected<InstanceInfo> wait_ready(std::chrono::milliseconds timeout);

  private:
    // A request whose success is 204 No Content (any 2xx is accepted).
    FcExpected<void> send(std::string_view method, std::string_view target,
                          const nlohmann::json& body, std::chrono::milliseconds timeout);
    HttpLimits limits(std::chrono::milliseconds timeout) const;

    std::string socket_path_;
    FcClientOptions options_;
};

// The fault message of an error answer: {"fault_message": "..."}, micro_http's own
// {"error": "..."}, or the raw body; always made safe with peer_text().
std::string fault_text(std::string_view body);

// Parses GET /'s InstanceInfo; Protocol error when a required field is missing or mistyped.
FcExpected<InstanceInfo> parse_instance_info(std::string_view body, const std::string& call);

}  // namespace microvm::firecracker
