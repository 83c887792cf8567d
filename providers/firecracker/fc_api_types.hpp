// The request bodies the backend sends to Firecracker, as typed structs, and their JSON. Field
// names and optionality follow Firecracker's swagger (src/firecracker/swagger/firecracker.yaml,
// version 1.17.0-dev, commit 004d935399ba6062240af269638635d54229f5bf). Firecracker rejects
// unknown fields (serde deny_unknown_fields), so only documented fields are ever emitted, and
// optional ones only when set: an older Firecracker that lacks a newer optional field still
// accepts the body as long as that field is not used.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace microvm::firecracker {

// PUT /boot-source (BootSource). The kernel is an uncompressed vmlinux (x86_64).
struct BootSource {
    std::string kernel_image_path;           // required
    std::string boot_args;                   // omitted when empty (Firecracker's default args)
    std::optional<std::string> initrd_path;  // the agent's initramfs, when booting from one
};

// PUT /drives/{drive_id} (Drive), a virtio-block device backed by a host file.
struct Drive {
    std::string drive_id;  // also the path segment: [A-Za-z0-9_]{1,64}
    std::string path_on_host;
    bool is_root_device = false;
    bool is_read_only = true;  // the safe default: a guest writes only where it was given to
    std::optional<std::string> partuuid;  // only meaningful with is_root_device
};

// PUT /machine-config (MachineConfiguration).
struct MachineConfig {
    int64_t vcpu_count = 1;     // 1..32
    int64_t mem_size_mib = 128;
    bool smt = false;           // always sent: no host SMT siblings shared with a guest's vCPUs
    bool track_dirty_pages = false;  // needed only for diff snapshots
};

// PUT /vsock (Vsock). Firecracker listens on uds_path for host-initiated connections.
struct VsockDevice {
    int64_t guest_cid = 3;  // >= 3
    std::string uds_path;
};

// PUT /actions (InstanceActionInfo).
enum class Action { InstanceStart, SendCtrlAltDel, FlushMetrics };

// PATCH /vm (Vm).
enum class VmState { Paused, Resumed };

// PUT /snapshot/create (SnapshotCreateParams). Only Full snapshots: the pool restores whole VMs.
struct SnapshotCreate {
    std::string snapshot_path;  // the microVM state
    std::string mem_file_path;  // the guest memory
};

// PUT /snapshot/load (SnapshotLoadParams), with a File memory backend.
struct SnapshotLoad {
    std::string snapshot_path;
    std::string mem_backend_path;  // mem_backend {backend_type: File, backend_path}
    bool track_dirty_pages = false;  // sent only when true (see to_json)
    bool resume_vm = false;
    // vsock_override.uds_path: a restored VM listens here instead of the path baked into the
    // snapshot, so that many VMs restored from one snapshot do not collide. Firecracker >= the
    // swagger version above; omitted when unset.
    std::optional<std::string> vsock_uds_override;
};

// PUT /logger (Logger).
enum class LogLevel { Error, Warning, Info, Debug, Trace, Off };
struct Logger {
    std::string log_path;  // a file or named pipe
    LogLevel level = LogLevel::Warning;
    bool show_level = true;
    bool show_log_origin = false;
};

// PUT /metrics (Metrics).
struct Metrics {
    std::string metrics_path;
};

// GET / (InstanceInfo).
struct InstanceInfo {
    std::string id;
    std::string state;  // "Not started", "Running" or "Paused"
    std::string vmm_version;
    std::string app_name;
};

const char* to_string(Action a);
const char* to_string(VmState s);
const char* to_string(LogLevel l);

nlohmann::json to_json(const BootSource& b);
nlohmann::json to_json(const Drive& d);
nlohmann::json to_json(const MachineConfig& m);
nlohmann::json to_json(const VsockDevice& v);
nlohmann::json to_json(Action a);
nlohmann::json to_json(VmState s);
nlohmann::json to_json(const SnapshotCreate& s);
// track_dirty_pages is the current name; its deprecated alias enable_diff_snapshots is never
// sent (Firecracker logs a deprecation for it and will drop it).
nlohmann::json to_json(const SnapshotLoad& s);
nlohmann::json to_json(const Logger& l);
nlohmann::json to_json(const Metrics& m);

// True for a drive id Firecracker accepts and that is safe as a URL path segment.
bool valid_drive_id(const std::string& id);

}  // namespace microvm::firecracker
