#include "firecracker/fc_api_types.hpp"

#include <algorithm>
#include <cctype>

namespace microvm::firecracker {

using nlohmann::json;

const char* to_string(Action a) {
    switch (a) {
        case Action::InstanceStart: return "InstanceStart";
        case Action::SendCtrlAltDel: return "SendCtrlAltDel";
        case Action::FlushMetrics: return "FlushMetrics";
    }
    return "";
}

const char* to_string(VmState s) { return s == VmState::Paused ? "Paused" : "Resumed"; }

const char* to_string(LogLevel l) {
    switch (l) {
        case LogLevel::Error: return "Error";
        case LogLevel::Warning: return "Warning";
        case LogLevel::Info: return "Info";
        case LogLevel::Debug: return "Debug";
        case LogLevel::Trace: return "Trace";
        case LogLevel::Off: return "Off";
    }
    return "";
}

json to_json(const BootSource& b) {
    json j = {{"kernel_image_path", b.kernel_image_path}};
    if (!b.boot_args.empty()) j["boot_args"] = b.boot_args;
    if (b.initrd_path) j["initrd_path"] = *b.initrd_path;
    return j;
}

json to_json(const Drive& d) {
    json j = {{"drive_id", d.drive_id},
              {"path_on_host", d.path_on_host},
              {"is_root_device", d.is_root_device},
              {"is_read_only", d.is_read_only}};
    if (d.partuuid) j["partuuid"] = *d.partuuid;
    return j;
}

json to_json(const MachineConfig& m) {
    return {{"vcpu_count", m.vcpu_count},
            {"mem_size_mib", m.mem_size_mib},
            {"smt", m.smt},
            {"track_dirty_pages", m.track_dirty_pages}};
}

json to_json(const VsockDevice& v) {
    // vsock_id is deprecated in the swagger and not sent.
    return {{"guest_cid", v.guest_cid}, {"uds_path", v.uds_path}};
}

json to_json(Action a) { return {{"action_type", to_string(a)}}; }

json to_json(VmState s) { return {{"state", to_string(s)}}; }

json to_json(const SnapshotCreate& s) {
    return {{"snapshot_type", "Full"},
            {"snapshot_path", s.snapshot_path},
            {"mem_file_path", s.mem_file_path}};
}

json to_json(const SnapshotLoad& s) {
    json j = {{"snapshot_path", s.snapshot_path},
              {"mem_backend", {{"backend_type", "File"}, {"backend_path", s.mem_backend_path}}},
              {"resume_vm", s.resume_vm}};
    // Only when needed: Firecracker releases older than the field refuse it as unknown.
    if (s.track_dirty_pages) j["track_dirty_pages"] = true;
    if (s.vsock_uds_override) j["vsock_override"] = {{"uds_path", *s.vsock_uds_override}};
    return j;
}

json to_json(const Logger& l) {
    return {{"log_path", l.log_path},
            {"level", to_string(l.level)},
            {"show_level", l.show_level},
            {"show_log_origin", l.show_log_origin}};
}

json to_json(const Metrics& m) { return {{"metrics_path", m.metrics_path}}; }

bool valid_drive_id(const std::string& id) {
    return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    });
}

}  // namespace microvm::firecracker
