// A fake of Firecracker's vsock Unix socket: reads the host's "CONNECT <port>\n" and answers as
// the mode says.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "fake_server.hpp"

namespace fcfake {

class FakeVsock {
  public:
    enum class Mode {
        Echo,         // "OK 1073741824\n" + `greeting`, then echoes what the host sends
        Garbage,      // answers `garbage`
        Silent,       // reads the CONNECT line and never answers
        Close,        // closes without answering (Firecracker: nothing listens on the port)
    };
    FakeVsock(std::string path, Mode mode, std::string greeting_or_garbage = {});
    // Guest-side readiness: while it returns false, Echo behaves as Close (the VM is not running).
    void set_running(std::function<bool()> running) { running_ = std::move(running); }

    std::string last_request() const;  // the bytes read up to and including the first '\n'
    const std::string& path() const { return server_->path(); }

  private:
    void serve(int conn, int stop);

    Mode mode_;
    std::string text_;
    std::function<bool()> running_ = [] { return true; };
    mutable std::mutex mu_;
    std::string last_request_;
    std::unique_ptr<UnixServer> server_;
};

}  // namespace fcfake
