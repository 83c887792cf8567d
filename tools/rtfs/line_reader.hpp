// Lines of REPL input: with line editing and history (libedit) on a terminal, plain lines
// otherwise (input piped in, e.g. from tests).
#pragma once

#include <optional>
#include <string>

#include "rtfs/host/unique_fd.hpp"

namespace rtfs::cli {

class LineReader {
  public:
    LineReader();
    ~LineReader();  // saves the history of an interactive session
    LineReader(const LineReader&) = delete;
    LineReader& operator=(const LineReader&) = delete;

    bool interactive() const { return interactive_; }
    // The next line without its newline; nullopt at end of input (Ctrl-D).
    std::optional<std::string> read_line(const char* prompt);
    void remember(const std::string& entry);

  private:
    bool interactive_;
    rtfs::host::UniqueFd home_fd_;  // $HOME, opened once and checked: where the history is, if anywhere
};

}  // namespace rtfs::cli
