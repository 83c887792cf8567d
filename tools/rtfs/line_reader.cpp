#include "line_reader.hpp"

#include <editline/readline.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace rtfs::cli {

namespace {

constexpr int kHistoryEntries = 1000;

struct FreeDeleter {
    void operator()(void* p) const { std::free(p); }
};

}  // namespace

LineReader::LineReader() : interactive_(isatty(STDIN_FILENO) != 0) {
    if (!interactive_) return;
    using_history();
    stifle_history(kHistoryEntries);
    if (const char* home = std::getenv("HOME"); home && *home) {
        history_file_ = std::string(home) + "/.rtfs_history";
        read_history(history_file_.c_str());
    }
}

LineReader::~LineReader() {
    if (interactive_ && !history_file_.empty()) write_history(history_file_.c_str());
}

std::optional<std::string> LineReader::read_line(const char* prompt) {
    if (interactive_) {
        std::unique_ptr<char, FreeDeleter> line(readline(prompt));
        if (!line) return std::nullopt;
        return std::string(line.get());
    }
    char* buf = nullptr;
    size_t cap = 0;
    const ssize_t n = getline(&buf, &cap, stdin);
    std::unique_ptr<char, FreeDeleter> owned(buf);
    if (n < 0) return std::nullopt;
    std::string line(buf, static_cast<size_t>(n));
    if (!line.empty() && line.back() == '\n') line.pop_back();
    return line;
}

void LineReader::remember(const std::string& entry) {
    if (interactive_ && !entry.empty()) add_history(entry.c_str());
}

}  // namespace rtfs::cli
