// A spinner on stderr for work that may take a while (first-time provider setup), shown only
// on a terminal and only once the work has taken longer than a moment.
#pragma once

#include <atomic>
#include <string>
#include <thread>

namespace microvm::cli {

class Progress {
public:
    explicit Progress(std::string what);
    ~Progress();  // stops and clears the line

private:
    std::string what_;
    std::atomic<bool> done_{false};
    std::thread thread_;
};

}  // namespace microvm::cli
