#include "firecracker/fc_api_client.hpp"

#include <thread>

#include "firecracker/fc_socket.hpp"

namespace microvm::firecracker {
namespace {

using Kind = FcError::Kind;
using nlohmann::json;
using namespace std::chrono_literals;

// JSON text of a body; InvalidRequest instead of nlohmann's exception when a string field is not
// valid UTF-8 (a path Firecracker could never open anyway).
FcExpected<std::string> encode(const json& body, const std::string& call) {
    try {
        return body.dump();
    } catch (const json::exception&) {
        return fc_fail(Kind::InvalidRequest, call, "a field of the request is not valid UTF-8");
    }
}

FcExpected<void> check_status(const HttpResponse& r, const std::string& call) {
    if (r.status >= 200 && r.status < 300) return Ok{};
    return fc_fail(Kind::Api, call, fault_text(r.body), r.status);
}

}  // namespace

std::string fault_text(std::string_view body) {
    json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (j.is_object()) {
        for (const char* key : {"fault_message", "error"}) {
            auto it = j.find(key);
            if (it != j.end() && it->is_string()) return peer_text(it->get<std::string>());
        }
    }
    return peer_text(body);
}

FcExpected<InstanceInfo> parse_instance_info(std::string_view body, const std::string& call) {
    json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) {
        return fc_fail(Kind::Protocol, call, "instance info is not a JSON object");
    }
    InstanceInfo info;
    for (auto [key, field] : {std::pair{"id", &info.id},
                              std::pair{"state", &info.state},
                              std::pair{"vmm_version", &info.vmm_version},
                              std::pair{"app_name", &info.app_name}}) {
        auto it = j.find(key);
        if (it == j.end() || !it->is_string()) {
            return fc_fail(Kind::Protocol, call,
                           std::string("instance info lacks the string field ") + key);
        }
        *field = peer_text(it->get<std::string>(), 256);
    }
    if (info.state != "Not started" && info.state != "Running" && info.state != "Paused") {
        return fc_fail(Kind::Protocol, call, "unknown instance state '" + info.state + "'");
    }
    return info;
}

FcApiClient::FcApiClient(std::string socket_path, FcClientOptions options)
    : socket_path_(std::move(socket_path)), options_(options) {}

HttpLimits FcApiClient::limits(std::chrono::milliseconds timeout) const {
    HttpLimits l;
    l.timeout = timeout;
    l.max_body_bytes = options_.max_response_bytes;
    return l;
}

FcExpected<void> FcApiClient::send(std::string_view method, std::string_view target,
                                   const json& body, std::chrono::milliseconds timeout) {
    const std::string call = std::string(method) + " " + std::string(target);
    RTFS_TRY(std::string text, encode(body, call));
    RTFS_TRY(HttpResponse r, http_call(socket_path_, method, target, text, limits(timeout)));
    return check_status(r, call);
}

FcExpected<void> FcApiClient::put_boot_source(const BootSource& b) {
    return send("PUT", "/boot-source", to_json(b), options_.call_timeout);
}

FcExpected<void> FcApiClient::put_drive(const Drive& d) {
    if (!valid_drive_id(d.drive_id)) {
        return fc_fail(Kind::InvalidRequest, "PUT /drives/{drive_id}",
                       "drive id '" + peer_text(d.drive_id, 80) +
                           "' is not 1 to 64 letters, digits or underscores");
    }
    return send("PUT", "/drives/" + d.drive_id, to_json(d), options_.call_timeout);
}

FcExpected<void> FcApiClient::put_machine_config(const MachineConfig& m) {
    return send("PUT", "/machine-config", to_json(m), options_.call_timeout);
}

FcExpected<void> FcApiClient::put_vsock(const VsockDevice& v) {
    return send("PUT", "/vsock", to_json(v), options_.call_timeout);
}

FcExpected<void> FcApiClient::put_logger(const Logger& l) {
    return send("PUT", "/logger", to_json(l), options_.call_timeout);
}

FcExpected<void> FcApiClient::put_metrics(const Metrics& m) {
    return send("PUT", "/metrics", to_json(m), options_.call_timeout);
}

FcExpected<void> FcApiClient::instance_start() {
    return send("PUT", "/actions", to_json(Action::InstanceStart), options_.long_call_timeout);
}

FcExpected<void> FcApiClient::send_ctrl_alt_del() {
    return send("PUT", "/actions", to_json(Action::SendCtrlAltDel), options_.call_timeout);
}

FcExpected<void> FcApiClient::pause() {
    return send("PATCH", "/vm", to_json(VmState::Paused), options_.call_timeout);
}

FcExpected<void> FcApiClient::resume() {
    return send("PATCH", "/vm", to_json(VmState::Resumed), options_.call_timeout);
}

FcExpected<void> FcApiClient::create_snapshot(const SnapshotCreate& s) {
    return send("PUT", "/snapshot/create", to_json(s), options_.long_call_timeout);
}

FcExpected<void> FcApiClient::load_snapshot(const SnapshotLoad& s) {
    return send("PUT", "/snapshot/load", to_json(s), options_.long_call_timeout);
}

FcExpected<InstanceInfo> FcApiClient::describe_instance() {
    const std::string call = "GET /";
    RTFS_TRY(HttpResponse r, http_call(socket_path_, "GET", "/", "", limits(options_.call_timeout)));
    RTFS_CHECK(check_status(r, call));
    return parse_instance_info(r.body, call);
}

FcExpected<InstanceInfo> FcApiClient::wait_ready(std::chrono::milliseconds timeout) {
    const Deadline deadline = deadline_after(timeout);
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left <= 0ms) {
            return fc_fail(Kind::Timeout, "GET /",
                           "the API socket " + socket_path_ + " did not answer within " +
                               std::to_string(timeout.count()) + " ms");
        }
        HttpLimits l = limits(std::min(left, options_.call_timeout));
        auto r = http_call(socket_path_, "GET", "/", "", l);
        if (r) {
            RTFS_CHECK(check_status(*r, "GET /"));
            return parse_instance_info(r->body, "GET /");
        }
        if (r.error().kind != Kind::Connect) return rtfs::unexpected(std::move(r).error());
        std::this_thread::sleep_for(std::min(left, std::chrono::milliseconds(10)));
    }
}

}  // namespace microvm::firecracker
