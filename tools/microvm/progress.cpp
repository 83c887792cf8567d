#include "progress.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace microvm::cli {

Progress::Progress(std::string what) : what_(std::move(what)) {
    if (!::isatty(STDERR_FILENO)) return;
    thread_ = std::thread([this] {
        using namespace std::chrono_literals;
        const char* frames = "|/-\\";
        bool shown = false;
        for (int i = 0; !done_.load(); ++i) {
            std::this_thread::sleep_for(100ms);
            if (i < 3 || done_.load()) continue;  // quick work shows nothing
            std::fprintf(stderr, "\r%c %s...", frames[i % 4], what_.c_str());
            std::fflush(stderr);
            shown = true;
        }
        if (shown) {
            std::fprintf(stderr, "\r\033[K");
            std::fflush(stderr);
        }
    });
}

Progress::~Progress() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
}

}  // namespace microvm::cli
