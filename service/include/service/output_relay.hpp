// The lines of a streamed run, handed over by the thread that captures the program's output and
// written to the client by a thread of its own. Written on the capturing thread, a client that
// read slowly held the capture loop in its write, and the deadline was acted on up to the write
// timeout (10 s) late while the program kept running (red team, 2026-12-04). What waits here is
// bounded by what the capture keeps (each stream's max_output_bytes, as escaped into lines).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace microvm::service {

class OutputRelay {
  public:
    // write: sends one line to the client; false when it went away (nothing more is written).
    explicit OutputRelay(std::function<bool(const std::string&)> write);  // starts the writer
    ~OutputRelay();  // finish()
    OutputRelay(const OutputRelay&) = delete;
    OutputRelay& operator=(const OutputRelay&) = delete;

    // Queues a line; never waits for the client.
    void push(std::string line);
    // Waits until every line pushed is written or a write failed, and stops the writer. True
    // when every line was written.
    bool finish();

  private:
    void run();

    std::function<bool(const std::string&)> write_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::string> lines_;
    bool closing_ = false;
    bool failed_ = false;
    std::thread writer_;
};

}  // namespace microvm::service
