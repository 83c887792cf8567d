// One RTFS session of the `rtfs` command: an interpreter with the default capability host,
// evaluated on a big stack, with an optional per-evaluation time limit. Top-level definitions
// persist from one eval() to the next (the REPL).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "rtfs/host/default_host.hpp"
#include "rtfs/interpreter.hpp"
#include "rtfs/security.hpp"

namespace rtfs::cli {

struct SessionOptions {
    RuntimeContext security = RuntimeContext::pure();
    std::optional<std::chrono::milliseconds> timeout;  // per eval()
    bool capture_output = false;  // keep println output for the outcome instead of stdout
};

// The result of one evaluation, reduced to text on the evaluation thread (printing a deeply
// nested value needs the big stack as much as building it did).
struct Outcome {
    bool ok = false;
    std::string value;  // printed form when ok
    ErrorKind kind = ErrorKind::UserError;
    std::string message;
    int line = 0;
    int column = 0;
    std::string description;  // "Kind: message (at l:c)"
    std::string output;       // println output when captured
};

class Session {
  public:
    explicit Session(SessionOptions options);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    Outcome eval(std::string_view source);
    // Set from a signal handler or another thread to interrupt the running eval().
    std::atomic<bool>& cancel_flag() { return cancel_; }

  private:
    SessionOptions opts_;
    std::atomic<bool> cancel_{false};
    std::string captured_;
    host::DefaultHost host_;
    std::unique_ptr<Interpreter> interp_;
};

}  // namespace rtfs::cli
