// ccos.io.println and ccos.io.log: the arguments in `str` form joined by spaces, plus a newline.
#include <cstdio>

#include "capabilities.hpp"
#include "rtfs/printer.hpp"

namespace rtfs::host {

namespace {

std::string joined_line(std::span<const Value> args) {
    std::string line;
    for (size_t i = 0; i < args.size(); ++i) {
        if (i) line += ' ';
        line += to_display(args[i]);
    }
    line += '\n';
    return line;
}

// Flushed at once so that program output and the tool's own output keep their order.
void write_stream(std::FILE* f, std::string_view text) {
    std::fwrite(text.data(), 1, text.size(), f);
    std::fflush(f);
}

}  // namespace

Result<Value> io_println(DefaultHost& host, std::span<const Value> args) {
    const std::string line = joined_line(args);
    if (host.options().out)
        host.options().out(line);
    else
        write_stream(stdout, line);
    return Value::nil();
}

Result<Value> io_log(DefaultHost& host, std::span<const Value> args) {
    const std::string line = joined_line(args);
    if (host.options().err)
        host.options().err(line);
    else
        write_stream(stderr, line);
    return Value::nil();
}

}  // namespace rtfs::host
