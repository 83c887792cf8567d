// A service and its HTTP front end in the test process: a Unix socket in a private temp
// directory and a TCP listener on 127.0.0.1 with an ephemeral port and a known token.
#pragma once

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "host/remove_tree.hpp"
#include "http_client.hpp"
#include "microvm/factory.hpp"
#include "service/confined_files.hpp"
#include "service/http_frontend.hpp"
#include "service/identity.hpp"
#include "service/warm_pools.hpp"

namespace svctest {

inline const std::string kToken = "test-token-0123456789abcdef";

// Named with this process's pid ("microvmd-test-PID-XXXXXX"): the sessions' disks mounted there
// are told apart from other test processes' in host snapshots (host_probes.cpp).
inline std::string make_temp_dir() {
    std::string tmpl = "/tmp/microvmd-test-" + std::to_string(::getpid()) + "-XXXXXX";
    const char* d = ::mkdtemp(tmpl.data());
    return d ? d : "";
}

// A self-signed certificate for 127.0.0.1 (name and IP address) and its key, made with openssl
// into cert and key; false when openssl failed.
inline bool make_self_signed_certificate(const std::string& cert, const std::string& key) {
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
        "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " + key + " -out " +
        cert + " >/dev/null 2>&1";
    return std::system(cmd.c_str()) == 0;
}

inline bool provider_available(const std::string& name) {
    microvm::ProviderFactory f;
    for (const auto& i : f.list_providers())
        if (i.name == name) return i.availability.available;
    return false;
}

struct Harness {
    std::string dir;
    std::string socket_path;
    std::unique_ptr<microvm::service::Service> service;
    std::unique_ptr<microvm::service::HttpFrontend> frontend;
    int tcp_port = -1;

    explicit Harness(const std::function<void(microvm::service::ServiceOptions&)>& tweak = nullptr,
                     microvm::service::FrontendOptions fopts = {},
                     std::unique_ptr<microvm::service::AuditLog> audit = nullptr,
                     const std::string& tcp_listen = "tcp:127.0.0.1:0") {
        using namespace microvm::service;
        dir = make_temp_dir();
        socket_path = dir + "/microvmd.sock";
        ServiceOptions opts;
        opts.state_dir = dir + "/state";
        opts.admission = {8, 16};
        opts.allow_unisolated = true;  // most tests use mock; ServiceIsolation checks the default
        if (tweak) tweak(opts);
        auto s = Service::create(std::move(opts), std::move(audit));
        if (!s) throw std::runtime_error(s.error().message);
        service = std::move(*s);
        frontend = std::make_unique<HttpFrontend>(*service, fopts);
        auto u = frontend->add_listener(*parse_listen("unix:" + socket_path), std::nullopt, std::nullopt);
        if (!u) throw std::runtime_error(u.error().message);
        auto t = frontend->add_listener(*parse_listen(tcp_listen), TokenSet::of({{"test", kToken}}), std::nullopt);
        if (!t) throw std::runtime_error(t.error().message);
        tcp_port = frontend->port(1);
        frontend->start();
    }
    ~Harness() {
        frontend->stop(std::chrono::milliseconds(0));
        frontend.reset();
        service.reset();
        microvm::host::remove_tree(dir);
    }

    HttpReply call(const std::string& method, const std::string& path, const std::string& body = "",
                   const std::map<std::string, std::string>& headers = {}) const {
        return call_fd(connect_unix(socket_path), method, path, body, headers);
    }
    HttpReply call_json(const std::string& method, const std::string& path, const nlohmann::json& body) const {
        return call(method, path, body.dump(), {{"Content-Type", "application/json"}});
    }
    HttpReply call_tcp(const std::string& method, const std::string& path, const std::string& body = "",
                       const std::string& token = kToken) const {
        std::map<std::string, std::string> h;
        if (!token.empty()) h["Authorization"] = "Bearer " + token;
        return call_fd(connect_tcp(tcp_port), method, path, body, h);
    }
    // The value of a metric line (first match of the exact series text), or -1.
    double metric(const std::string& series) const {
        std::string text = call("GET", "/metrics").body;
        size_t at = text.find("\n" + series + " ");
        if (at == std::string::npos) return -1;
        return std::strtod(text.c_str() + at + series.size() + 2, nullptr);
    }
};

// A service whose front end has one TLS listener on 127.0.0.1 (a fresh self-signed certificate,
// the test token); not started, so that a test may add listeners first. `ready` is false when
// the certificate or the listener could not be made.
struct TlsFrontend {
    std::string dir = make_temp_dir();
    std::string cert = dir + "/cert.pem";
    std::string key = dir + "/key.pem";
    std::unique_ptr<microvm::service::Service> service;
    std::unique_ptr<microvm::service::HttpFrontend> frontend;
    bool ready = false;

    explicit TlsFrontend(microvm::service::FrontendOptions fo = {}) {
        using namespace microvm::service;
        if (!make_self_signed_certificate(cert, key)) return;
        ServiceOptions opts;
        opts.state_dir = dir + "/state";
        opts.allow_unisolated = true;
        auto s = Service::create(opts, nullptr);
        if (!s) return;
        service = std::move(*s);
        frontend = std::make_unique<HttpFrontend>(*service, fo);
        ready = frontend->add_listener(*parse_listen("tcp:127.0.0.1:0"), TokenSet::of({{"t", kToken}}),
                                       TlsFiles{cert, key})
                    .has_value();
    }
    ~TlsFrontend() {
        if (frontend) frontend->stop(std::chrono::milliseconds(0));
        frontend.reset();
        service.reset();
        microvm::host::remove_tree(dir);
    }
    int port() const { return frontend->port(0); }
};

inline nlohmann::json body_json(const HttpReply& r) {
    return nlohmann::json::parse(r.body, nullptr, false);
}

// A session (POST /v1/sandboxes with body): its id, empty on failure (a test failure too).
inline std::string create_session(const Harness& h, const nlohmann::json& body) {
    auto r = h.call_json("POST", "/v1/sandboxes", body);
    EXPECT_EQ(r.status, 201) << r.body;
    return body_json(r).value("id", "");
}

// An exec of argv in session id: its result document.
inline nlohmann::json session_exec(const Harness& h, const std::string& id, const std::vector<std::string>& argv) {
    auto r = h.call_json("POST", "/v1/sandboxes/" + id + "/exec", {{"run", argv}});
    EXPECT_EQ(r.status, 200) << r.body;
    return body_json(r);
}

// A client on TCP holding the token whose id is token_id, as the front end identifies one.
inline microvm::service::ClientIdentity token_client(const std::string& token_id) {
    microvm::service::ClientIdentity who;
    who.transport = "tcp";
    who.remote = "127.0.0.1:40000";
    who.token_id = token_id;
    return who;
}

}  // namespace svctest
