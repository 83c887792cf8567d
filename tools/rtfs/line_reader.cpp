#include "line_reader.hpp"

#include <editline/readline.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

namespace rtfs::cli {

namespace {

constexpr int kHistoryEntries = 1000;
constexpr const char* kHistoryName = ".rtfs_history";

struct FreeDeleter {
    void operator()(void* p) const { std::free(p); }
};

// libedit reads and writes its history by name, following links: it gets the path of a
// descriptor opened and checked here instead.
std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// $HOME, where it is a directory of this user's that no one else may write. A root REPL started
// with another user's HOME (sudo -E, su -m) wrote its history through whatever link that user
// left as .rtfs_history (onto /etc/passwd, say; red team, 2026-12-06): it keeps none there.
host::UniqueFd open_home() {
    const char* home = std::getenv("HOME");
    if (!home || !*home) return {};
    host::UniqueFd fd(::open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    struct stat st;
    if (fd.valid() && ::fstat(fd.get(), &st) == 0 && st.st_uid == ::geteuid() && (st.st_mode & 022) == 0) return fd;
    return {};
}

}  // namespace

LineReader::LineReader() : interactive_(isatty(STDIN_FILENO) != 0) {
    if (!interactive_) return;
    using_history();
    stifle_history(kHistoryEntries);
    home_fd_ = open_home();
    if (!home_fd_.valid()) return;
    // Only a regular file of this user's, never through a link.
    const host::UniqueFd fd(::openat(home_fd_.get(), kHistoryName, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    struct stat st;
    if (fd.valid() && ::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid()) {
        read_history(fd_path(fd.get()).c_str());
    }
}

LineReader::~LineReader() {
    if (!home_fd_.valid()) return;
    // Written to a new file of its own and renamed over the old name: a link planted there is
    // replaced, never followed.
    const int home = home_fd_.get();
    const std::string temp = std::string(kHistoryName) + ".new." + std::to_string(::getpid());
    host::UniqueFd fd(::openat(home, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd.valid()) return;
    const bool written = write_history(fd_path(fd.get()).c_str()) == 0;
    fd.reset();
    if (!written || ::renameat(home, temp.c_str(), home, kHistoryName) != 0) ::unlinkat(home, temp.c_str(), 0);
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
