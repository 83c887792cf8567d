#include "report.hpp"

#include <unistd.h>

#include <cstdint>
#include <cstdio>

#include "host/unique_fd.hpp"
#include "microvm/json_output.hpp"

namespace microvm::cli {

namespace {

// An error message may quote what the program wrote (its runtime's own error, a path, a URL):
// on a terminal, control characters and escape sequences in it could forge lines or act on the
// terminal, and bidirectional overrides reorder what is shown. They are shown escaped (\n,
// \x1b, \u0085, \u202e), as is every byte that is not part of valid UTF-8 (a lone 0x9b is CSI
// to an 8-bit terminal); the rest as is.
std::string terminal_safe(std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    auto hex = [&](std::string& out, uint32_t v, int digits) {
        for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) out += kHex[(v >> shift) & 0xf];
    };
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            if (c == '\n') {
                out += "\\n";
            } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
                out += "\\x";
                hex(out, c, 2);
            } else {
                out += static_cast<char>(c);
            }
            ++i;
            continue;
        }
        // A UTF-8 sequence: its length from the lead byte, then continuation bytes, no overlong
        // forms, no surrogates, nothing above U+10FFFF.
        const size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        uint32_t cp = len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
        bool valid = len > 0 && i + len <= text.size();
        for (size_t k = 1; valid && k < len; ++k) {
            const auto cc = static_cast<unsigned char>(text[i + k]);
            valid = (cc & 0xc0) == 0x80;
            cp = (cp << 6) | (cc & 0x3f);
        }
        valid = valid && !(len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) &&
                !(len == 4 && (cp < 0x10000 || cp > 0x10ffff));
        if (!valid) {
            out += "\\x";
            hex(out, c, 2);
            ++i;
            continue;
        }
        const bool control = cp <= 0x9f || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
                             (cp >= 0x2066 && cp <= 0x2069);
        if (control) {
            out += "\\u";
            hex(out, cp, 4);
        } else {
            out.append(text.substr(i, len));
        }
        i += len;
    }
    return out;
}

}  // namespace

void print_error(const std::string& kind, const std::string& message) {
    host::write_all(STDERR_FILENO, "error: " + terminal_safe(kind) + ": " + terminal_safe(message) + "\n");
}

void print_result_json(const ExecutionResult& r) {
    std::fflush(stdout);
    host::write_all(STDOUT_FILENO, to_json(r).dump() + "\n");
}

int exit_for_failure(const Failure& f) {
    switch (f.kind) {
        case Failure::Kind::InvalidConfig:
        case Failure::Kind::InvalidInput: return kExitUsage;
        case Failure::Kind::Unsupported: return kExitPolicy;
        default: return kExitSetup;
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
            // A symbol's or keyword's name is printed as is, control characters included
            // (`(symbol "\u001b]0;title\u0007")` set the terminal's title, red team
            // 2026-12-04): on a terminal the value is shown escaped, into a pipe exactly.
            std::fflush(stdout);
            host::write_all(STDOUT_FILENO, (::isatty(STDOUT_FILENO) ? terminal_safe(*r.value) : *r.value) + "\n");
        }
    } else if (r.error && !(!is_eval && r.error->reason == Reason::NonzeroExit)) {
        // A program that simply exited non-zero has said what it had to say itself.
        print_error(r.error->kind.empty() ? to_string(r.status) : r.error->kind, r.error->message);
    }
    return exit_status_for(r, is_eval);
}

}  // namespace microvm::cli
