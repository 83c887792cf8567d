// ccos.io.println and ccos.io.log: the arguments in `str` form joined by spaces, plus a newline.
#include <cstdio>

#include "capabilities.hpp"
#include "rtfs/interpreter.hpp"
#include "rtfs/printer.hpp"

namespace rtfs::host {

namespace {

// The line is bounded by what the program may still allocate: a vector of N references to one
// large string prints as N copies, which would otherwise be built whole before any output cap.
Result<std::string> joined_line(const char* op, std::span<const Value> args) {
    return display_text(op, args, " ", "\n");
}

// Flushed at once so that program output and the tool's own output keep their order.
void write_stream(std::FILE* f, std::string_view text) {
    std::fwrite(text.data(), 1, text.size(), f);
    std::fflush(f);
}

}  // namespace

Result<Value> io_println(DefaultHost& host, std::span<const Value> args) {
    RTFS_TRY(const std::string line, joined_line("println", args));
    if (host.options().out)
        host.options().out(line);
    else
        write_stream(stdout, line);
    return Value::nil();
}

Result<Value> io_log(DefaultHost& host, std::span<const Value> args) {
    RTFS_TRY(const std::string line, joined_line("log", args));
    if (host.options().err)
        host.options().err(line);
    else
        write_stream(stderr, line);
    return Value::nil();
}

}  // namespace rtfs::host
