// Test servers on Unix sockets: a listener whose connections are handled one after another on a
// thread, and a stop pipe every handler can wait on, so that even a handler playing a stuck
// server ends when the test does.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

namespace fcfake {

// A private directory under /tmp for sockets (sockaddr_un paths must stay short); removed with
// its contents by the destructor.
class SocketDir {
  public:
    SocketDir();
    ~SocketDir();
    SocketDir(const SocketDir&) = delete;
    SocketDir& operator=(const SocketDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

  private:
    std::filesystem::path path_;
};

class UnixServer {
  public:
    // handler(connection fd, stop fd): owns nothing; the connection is closed after it returns.
    using Handler = std::function<void(int conn, int stop)>;

    UnixServer(std::string path, Handler handler);
    ~UnixServer();  // stops the thread and removes the socket file
    UnixServer(const UnixServer&) = delete;
    UnixServer& operator=(const UnixServer&) = delete;

    const std::string& path() const { return path_; }
    int connections() const { return connections_; }

  private:
    void loop();

    std::string path_;
    Handler handler_;
    int listen_fd_ = -1;
    int stop_read_ = -1;
    int stop_write_ = -1;
    std::atomic<int> connections_{0};
    std::thread thread_;
};

// Helpers for handlers. Each returns false once the stop fd fired, the peer closed, or the
// deadline passed.
bool read_until(int conn, int stop, std::string& buf, const std::string& terminator,
                std::chrono::milliseconds timeout = std::chrono::seconds(5));
bool read_exactly(int conn, int stop, std::string& buf, size_t total,
                  std::chrono::milliseconds timeout = std::chrono::seconds(5));
// Appends what one recv() returns once conn is readable.
bool read_some(int conn, int stop, std::string& buf,
               std::chrono::milliseconds timeout = std::chrono::seconds(5));
bool write_all(int conn, const std::string& data);
// Blocks until the stop fd fires (a server that never answers).
void wait_for_stop(int stop);

}  // namespace fcfake
