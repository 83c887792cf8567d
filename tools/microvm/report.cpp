#include "report.hpp"

#include <unistd.h>

#include <cstdio>

#include "microvm/json_output.hpp"

namespace microvm::cli {

namespace {

// An error message may quote what the program wrote (its runtime's own error, a path, a URL):
// on a terminal, control characters and escape sequences in it could forge lines or act on the
// terminal. They are shown escaped (\n, \x1b, \u0085), the rest as is.
std::string terminal_safe(std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '\n') {
            out += "\\n";
        } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
            out += "\\x";
            out += kHex[c >> 4];
            out += kHex[c & 0xf];
        } else if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
                   static_cast<unsigned char>(text[i + 1]) <= 0x9f) {  // a C1 control in UTF-8
            const auto c1 = static_cast<unsigned char>(text[++i]);
            out += "\\u00";
            out += kHex[c1 >> 4];
            out += kHex[c1 & 0xf];
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

}  // namespace

void print_error(const std::string& kind, const std::string& message) {
    write_all(STDERR_FILENO, "error: " + terminal_safe(kind) + ": " + terminal_safe(message) + "\n");
}

int exit_for_failure(const Failure& f) {
    switch (f.kind) {
        case Failure::Kind::InvalidConfig:
        case Failure::Kind::InvalidInput: return kExitUsage;
        case Failure::Kind::Unsupported: return kExitPolicy;
        default: return kExitSetup;
    }
}

void write_all(int fd, std::string_view s) {
    size_t off = 0;
    while (off < s.size()) {
        ssize_t n = ::write(fd, s.data() + off, s.size() - off);
        if (n <= 0) return;
        off += static_cast<size_t>(n);
    }
}

int report_plain(const ExecutionResult& r, bool is_eval, std::optional<uint64_t> output_cap) {
    if (r.metadata.stdout_truncated || r.metadata.stderr_truncated) {
        if (output_cap)
            std::fprintf(stderr, "microvm: output truncated at %llu bytes per stream\n",
                         static_cast<unsigned long long>(*output_cap));
        else
            std::fprintf(stderr, "microvm: output truncated at the daemon's limit per stream\n");
    }
    if (r.ok()) {
        if (is_eval && r.value) {  // all of it: a value may hold a NUL
            std::fflush(stdout);
            write_all(STDOUT_FILENO, *r.value + "\n");
        }
    } else if (r.error && !(!is_eval && r.error->reason == Reason::NonzeroExit)) {
        // A program that simply exited non-zero has said what it had to say itself.
        print_error(r.error->kind.empty() ? to_string(r.status) : r.error->kind, r.error->message);
    }
    return exit_status_for(r, is_eval);
}

}  // namespace microvm::cli
