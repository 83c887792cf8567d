// An HTTP server on 127.0.0.1 (any free port) for tests of http-fetch and network policies:
// routes are registered by the caller, every request is counted, and it stops on destruction.
// Nothing outside the loopback network is ever a target.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>

namespace testsupport {

class LoopbackHttp {
  public:
    explicit LoopbackHttp(const std::function<void(httplib::Server&)>& routes) {
        server_.set_pre_routing_handler([this](const httplib::Request&, httplib::Response&) {
            ++hits_;
            return httplib::Server::HandlerResponse::Unhandled;
        });
        routes(server_);
        port_ = server_.bind_to_any_port("127.0.0.1");
        if (port_ <= 0) throw std::runtime_error("cannot bind a port on 127.0.0.1");
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        // stop() is a no-op before the server runs, which would leave the join hanging.
        while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ~LoopbackHttp() {
        server_.stop();
        thread_.join();
    }
    LoopbackHttp(const LoopbackHttp&) = delete;
    LoopbackHttp& operator=(const LoopbackHttp&) = delete;

    int port() const { return port_; }
    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(port_) + path;
    }
    int hits() const { return hits_.load(); }

  private:
    httplib::Server server_;
    std::thread thread_;
    int port_ = 0;
    std::atomic<int> hits_{0};
};

}  // namespace testsupport
