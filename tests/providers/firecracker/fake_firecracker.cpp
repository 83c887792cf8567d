#include "fake_firecracker.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <fstream>

#include "fc_swagger_schema.hpp"

namespace fcfake {
namespace {

using nlohmann::json;

const char* kPostBoot = "The requested operation is not supported after starting the microVM.";
const char* kPreBoot = "The requested operation is not supported before starting the microVM.";

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}
bool exists(const json& path) { return exists(path.get<std::string>()); }

std::string format_reply(int status, const std::string& body) {
    // micro_http writes the code and an empty reason phrase: "HTTP/1.1 204 ".
    std::string r = "HTTP/1.1 " + std::to_string(status) + " \r\n";
    r += "Server: Firecracker API\r\nConnection: keep-alive\r\nContent-Type: application/json\r\n";
    // micro_http omits Content-Length when the body is empty.
    if (!body.empty()) r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    return r + "\r\n" + body;
}

std::string fault_body(const std::string& message) {
    return json{{"fault_message", message}}.dump();
}

// A request's head: "METHOD /path HTTP/1.1" and its headers. Empty method when malformed.
struct Head {
    std::string method, path, error;
    size_t content_length = 0;
    bool json_content = false;
};

Head parse_head(const std::string& text) {
    Head h;
    size_t eol = text.find("\r\n");
    std::string line = text.substr(0, eol);
    size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
    if (sp1 == std::string::npos || sp2 == sp1 || line.substr(sp2 + 1) != "HTTP/1.1") {
        h.error = "malformed request line '" + line + "'";
        return h;
    }
    h.method = line.substr(0, sp1);
    h.path = line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string rest = eol == std::string::npos ? "" : text.substr(eol + 2);
    size_t pos = 0;
    while (pos < rest.size()) {
        size_t end = rest.find("\r\n", pos);
        std::string header = rest.substr(pos, end - pos);
        pos = end == std::string::npos ? rest.size() : end + 2;
        size_t colon = header.find(':');
        if (colon == std::string::npos) {
            h.error = "malformed header '" + header + "'";
            return h;
        }
        std::string name = header.substr(0, colon), value = header.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (name == "content-length") {
            if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos) {
                h.error = "bad Content-Length";
                return h;
            }
            h.content_length = std::stoul(value);
        } else if (name == "content-type") {
            h.json_content = value == "application/json";
        } else if (name == "transfer-encoding") {
            h.error = "Transfer-Encoding is not supported";  // micro_http refuses chunked bodies
            return h;
        }
    }
    return h;
}

// Paths of the swagger the fake does not model: a request to one fails the test loudly.
bool unmodelled(const std::string& path) {
    for (const char* p : {"/balloon", "/cpu-config", "/pmem/", "/mmds", "/entropy", "/serial",
                          "/hotplug/", "/network-interfaces/", "/version", "/vm/config"}) {
        if (path.rfind(p, 0) == 0) return true;
    }
    return path == "/machine-config";  // only its PUT is modelled; GET/PATCH land here
}

}  // namespace

FakeFirecracker::FakeFirecracker(std::string socket_path, bool vsock_echo)
    : vsock_echo_(vsock_echo) {
    server_ = std::make_unique<UnixServer>(std::move(socket_path),
                                           [this](int conn, int stop) { serve(conn, stop); });
}

FakeFirecracker::~FakeFirecracker() { server_.reset(); }

std::vector<Recorded> FakeFirecracker::calls() const {
    std::lock_guard lock(mu_);
    return calls_;
}

std::string FakeFirecracker::state() const {
    std::lock_guard lock(mu_);
    return !started_ ? "Not started" : paused_ ? "Paused" : "Running";
}

void FakeFirecracker::serve(int conn, int stop) {
    std::string buf;
    // Keep-alive, like micro_http: requests until the client closes.
    for (;;) {
        if (!read_until(conn, stop, buf, "\r\n\r\n")) return;
        size_t head_end = buf.find("\r\n\r\n");
        Head head = parse_head(buf.substr(0, head_end));
        buf.erase(0, head_end + 4);
        if (!head.error.empty()) {
            write_all(conn, format_reply(400, json{{"error", head.error}}.dump()));
            return;
        }
        if (!read_exactly(conn, stop, buf, head.content_length)) return;
        std::string raw_body = buf.substr(0, head.content_length);
        buf.erase(0, head.content_length);

        Reply reply;
        json body;  // null when there is none
        if (!raw_body.empty()) {
            body = json::parse(raw_body, nullptr, false);
            if (!head.json_content || body.is_discarded()) {
                reply = {400, fault_body("An error occurred when deserializing the json body of "
                                         "a request: not a JSON body.")};
                body = nullptr;
            }
        }
        if (reply.body.empty()) {
            std::lock_guard lock(mu_);
            reply = handle(head.method, head.path, body);
        }
        {
            std::lock_guard lock(mu_);
            std::string fault;
            if (reply.status >= 400) {
                json f = json::parse(reply.body, nullptr, false);
                if (f.is_object() && f.contains("fault_message")) {
                    fault = f["fault_message"].get<std::string>();
                }
            }
            calls_.push_back({head.method, head.path, body, reply.status, fault});
        }
        if (!write_all(conn, format_reply(reply.status, reply.body))) return;
    }
}

FakeFirecracker::Reply FakeFirecracker::handle(const std::string& method, const std::string& path,
                                               const json& body) {
    if (method == "GET" && path == "/") {
        if (!body.is_null()) return {400, fault_body("GET / takes no body.")};
        return {200, json{{"id", "fake-vm"},
                          {"state", !started_ ? "Not started" : paused_ ? "Paused" : "Running"},
                          {"vmm_version", "1.17.0-dev"},
                          {"app_name", "Firecracker"}}
                         .dump()};
    }
    if (method == "PUT" && !unmodelled(path)) return put(path, body);
    if (method == "PUT" && path == "/machine-config") return put(path, body);
    if (method == "PATCH" && path == "/vm") {
        if (body.is_null()) return {400, fault_body("The body of PATCH /vm is required.")};
        std::string bad = validate(vm_schema(), body);
        if (!bad.empty()) {
            return {400, fault_body("An error occurred when deserializing the json body of a "
                                    "request: " + bad + ".")};
        }
        if (!started_) return {400, fault_body(kPreBoot)};
        paused_ = body["state"] == "Paused";
        return {};
    }
    if (unmodelled(path)) {
        return {400, fault_body("The fake does not model " + method + " " + path + ".")};
    }
    return {400, fault_body("Invalid request method and/or path: " + method + " " + path + ".")};
}

FakeFirecracker::Reply FakeFirecracker::put(const std::string& path, const json& body) {
    struct Route {
        const char* path;
        const Schema& (*schema)();
        bool prefix;
    };
    static const Route routes[] = {
        {"/boot-source", boot_source_schema, false},
        {"/drives/", drive_schema, true},
        {"/machine-config", machine_configuration_schema, false},
        {"/vsock", vsock_schema, false},
        {"/logger", logger_schema, false},
        {"/metrics", metrics_schema, false},
        {"/actions", instance_action_info_schema, false},
        {"/snapshot/create", snapshot_create_params_schema, false},
        {"/snapshot/load", snapshot_load_params_schema, false},
    };
    const Route* route = nullptr;
    for (const Route& r : routes) {
        if (r.prefix ? path.rfind(r.path, 0) == 0 && path.size() > std::string(r.path).size()
                     : path == r.path) {
            route = &r;
        }
    }
    if (!route) return {400, fault_body("Invalid request method and/or path: PUT " + path + ".")};
    if (body.is_null()) return {400, fault_body("The body of PUT " + path + " is required.")};
    // The API server deserializes first (a bad body is refused whatever the VM's state) ...
    std::string bad = validate(route->schema(), body);
    if (!bad.empty()) {
        return {400, fault_body("An error occurred when deserializing the json body of a "
                                "request: " + bad + ".")};
    }
    // ... then the controller of the current phase decides.
    if (path == "/actions") return action(body);
    if (path == "/snapshot/create") return snapshot_create(body);
    if (path == "/snapshot/load") return snapshot_load(body);
    if (started_) return {400, fault_body(kPostBoot)};

    if (path == "/logger" || path == "/metrics") {
        if (path == "/metrics") {
            if (metrics_set_) return {400, fault_body("Reinitialization of metrics not allowed.")};
            metrics_set_ = true;
        }
        return {};  // neither counts as boot-specific: a snapshot may still be loaded
    }
    if (path == "/boot-source") {
        if (!exists(body["kernel_image_path"])) {
            return {400, fault_body("The kernel file cannot be opened: No such file or "
                                    "directory (os error 2)")};
        }
        if (body.contains("initrd_path") && !exists(body["initrd_path"])) {
            return {400, fault_body("The initrd file cannot be opened due to invalid path or "
                                    "invalid permissions. No such file or directory (os error 2)")};
        }
        has_boot_source_ = true;
    } else if (path.rfind("/drives/", 0) == 0) {
        std::string id = path.substr(8);
        if (body["drive_id"] != id) {
            return {400, fault_body("The id from the path does not match the id from the body!")};
        }
        bool vhost = body.contains("socket");
        bool virtio = body.contains("path_on_host") && body.contains("is_read_only");
        if (vhost == virtio || (vhost && body.contains("path_on_host"))) {
            return {400, fault_body("A drive is either virtio-block (path_on_host, is_read_only) "
                                    "or vhost-user (socket).")};
        }
        if (!vhost && !exists(body["path_on_host"])) {
            return {400, fault_body("Unable to create the block device: No such file or "
                                    "directory (os error 2)")};
        }
        if (body["is_root_device"] == true) {
            if (root_drive_ && root_drive_id_ != id) {
                return {400, fault_body("A root block device already exists!")};
            }
            root_drive_ = true;
            root_drive_id_ = id;
        }
    } else if (path == "/machine-config") {
        if (body.value("smt", false) && body["vcpu_count"] != 1 &&
            body["vcpu_count"].get<int64_t>() % 2 != 0) {
            return {400, fault_body("The vCPU number is invalid! The vCPU number can only be 1 "
                                    "or an even number when SMT is enabled.")};
        }
        if (body["mem_size_mib"] == 0) {
            return {400, fault_body("The memory size (MiB) is invalid.")};
        }
    } else if (path == "/vsock") {
        std::string uds = body["uds_path"].get<std::string>();
        // Firecracker binds the socket when the device is configured.
        if (exists(uds)) {
            return {400, fault_body("Cannot create backend for vsock device: Error binding to "
                                    "the host-side Unix socket: Address in use (os error 98)")};
        }
        if (vsock_echo_) {
            vsock_ = std::make_unique<FakeVsock>(uds, FakeVsock::Mode::Echo, "agent-hello\n");
            vsock_->set_running([this] {
                std::lock_guard lock(mu_);
                return started_ && !paused_;
            });
        }
    }
    boot_path_ = true;
    return {};
}

FakeFirecracker::Reply FakeFirecracker::action(const json& body) {
    const std::string type = body["action_type"].get<std::string>();
    if (type == "InstanceStart") {
        if (started_) return {400, fault_body(kPostBoot)};
        if (!has_boot_source_) {
            return {400, fault_body("Cannot start microvm without kernel configuration.")};
        }
        started_ = true;
        paused_ = false;
        return {};
    }
    // SendCtrlAltDel, FlushMetrics: runtime only.
    if (!started_) return {400, fault_body(kPreBoot)};
    return {};
}

FakeFirecracker::Reply FakeFirecracker::snapshot_create(const json& body) {
    if (!started_) return {400, fault_body(kPreBoot)};
    if (!paused_) {
        return {400, fault_body("Cannot save the microVM state: the microVM is not paused.")};
    }
    if (body.value("snapshot_type", "Full") == "Diff") {
        return {400, fault_body("Diff snapshots are not allowed on uVMs with dirty page tracking "
                                "disabled.")};
    }
    for (const char* key : {"snapshot_path", "mem_file_path"}) {
        std::ofstream(body[key].get<std::string>()) << "fake " << key << "\n";
    }
    return {};
}

FakeFirecracker::Reply FakeFirecracker::snapshot_load(const json& body) {
    if (started_) return {400, fault_body(kPostBoot)};
    if (boot_path_) {
        return {400, fault_body("Load microVM snapshot error: Loading a microVM snapshot not "
                                "allowed after configuring boot-specific resources.")};
    }
    // The swagger: exactly one of mem_backend and the deprecated mem_file_path.
    if (body.contains("mem_backend") == body.contains("mem_file_path")) {
        return {400, fault_body("An error occurred when deserializing the json body of a "
                                "request: exactly one of mem_backend and mem_file_path.")};
    }
    const json& mem = body.contains("mem_backend") ? body["mem_backend"]["backend_path"]
                                                   : body["mem_file_path"];
    if (!exists(body["snapshot_path"]) || !exists(mem)) {
        return {400, fault_body("Load microVM snapshot error: Failed to restore from snapshot: "
                                "No such file or directory (os error 2)")};
    }
    started_ = true;
    paused_ = !body.value("resume_vm", false);
    return {};
}

}  // namespace fcfake
