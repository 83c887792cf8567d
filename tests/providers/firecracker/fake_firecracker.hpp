// A fake Firecracker API server on a Unix socket, for testing the client without a KVM host.
// It parses each request as micro_http would, checks it against the swagger (fc_swagger_schema:
// method, path, fields, types, enums, unknown fields refused), then against the state machine of
// Firecracker's API controllers (vmm/src/rpc_interface.rs at the same version):
//   - boot-source, drives, machine-config, vsock, logger, metrics, snapshot/load and
//     InstanceStart are pre-boot only ("...not supported after starting the microVM.");
//   - PATCH /vm, snapshot/create, SendCtrlAltDel, FlushMetrics are post-boot only
//     ("...not supported before starting the microVM.");
//   - InstanceStart needs a boot source; snapshot/create needs a Paused VM; snapshot/load needs a
//     fresh process (nothing but logger/metrics configured before it);
//   - files named in bodies must exist (Firecracker opens them when the request arrives);
//     snapshot/create writes its two files.
// It answers like micro_http: "HTTP/1.1 204 " with no body, or 400 and {"fault_message": ...}.
// Fault messages are Firecracker's words where its source spells them out, else paraphrased.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fake_server.hpp"
#include "fake_vsock.hpp"

namespace fcfake {

struct Recorded {
    std::string method;
    std::string path;
    nlohmann::json body;  // null without a body
    int status = 0;       // what the fake answered
    std::string fault;    // the fault_message of a refusal
};

class FakeFirecracker {
  public:
    // Serves on socket_path. With vsock_echo, PUT /vsock also opens a fake vsock socket at its
    // uds_path whose guest side echoes once the VM runs.
    explicit FakeFirecracker(std::string socket_path, bool vsock_echo = false);
    ~FakeFirecracker();

    const std::string& socket_path() const { return server_->path(); }
    std::vector<Recorded> calls() const;
    std::string state() const;  // what GET / reports

  private:
    struct Reply {
        int status = 204;
        std::string body;  // JSON, empty for 204
    };
    void serve(int conn, int stop);
    Reply handle(const std::string& method, const std::string& path, const nlohmann::json& body);
    Reply put(const std::string& path, const nlohmann::json& body);
    Reply action(const nlohmann::json& body);
    Reply snapshot_create(const nlohmann::json& body);
    Reply snapshot_load(const nlohmann::json& body);

    mutable std::mutex mu_;
    std::vector<Recorded> calls_;
    bool started_ = false;
    bool paused_ = false;
    bool boot_path_ = false;  // a boot-specific resource was configured: no snapshot load
    bool has_boot_source_ = false;
    bool metrics_set_ = false;
    bool root_drive_ = false;
    std::string root_drive_id_;
    bool vsock_echo_ = false;
    std::unique_ptr<FakeVsock> vsock_;
    std::unique_ptr<UnixServer> server_;  // last: stopped first, before the state it uses
};

}  // namespace fcfake
