#include "report.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>

#include "host/unique_fd.hpp"
#include "microvm/json_output.hpp"

namespace microvm::cli {

namespace {

// Unicode's format characters, line and paragraph separators (general categories Cf, Zl, Zp:
// python3's unicodedata, Unicode 14, and 15's U+13439-1343F) and its default-ignorable code
// points (the Hangul fillers, the combining grapheme joiner, Mongolian and other variation
// selectors FE00-FE0F, U+2065, FFF0-FFF8, E0000-E0FFF with the tags): invisible on a terminal,
// they reorder what is shown (bidirectional marks) or carry text a reader does not see (tags,
// variation selectors, zero-width characters: red team, 2026-12-06).
bool invisible(uint32_t cp) {
    static constexpr uint32_t kRanges[][2] = {
        {0x00ad, 0x00ad}, {0x034f, 0x034f}, {0x0600, 0x0605}, {0x061c, 0x061c}, {0x06dd, 0x06dd},
        {0x070f, 0x070f}, {0x0890, 0x0891}, {0x08e2, 0x08e2}, {0x115f, 0x1160}, {0x17b4, 0x17b5},
        {0x180b, 0x180f}, {0x200b, 0x200f}, {0x2028, 0x202e}, {0x2060, 0x206f}, {0x3164, 0x3164},
        {0xfe00, 0xfe0f}, {0xfeff, 0xfeff}, {0xffa0, 0xffa0}, {0xfff0, 0xfffb}, {0x110bd, 0x110bd},
        {0x110cd, 0x110cd}, {0x13430, 0x1343f}, {0x1bca0, 0x1bca3}, {0x1d173, 0x1d17a},
        {0xe0000, 0xe0fff}};
    for (const auto& r : kRanges) {
        if (cp >= r[0] && cp <= r[1]) return true;
    }
    return false;
}

// How the passed-through output left each stream (0 stdout, 1 stderr): the relay's thread
// writes, the main thread reads after it has finished.
std::atomic<bool> g_passed{false};
std::atomic<bool> g_mid_line[2] = {false, false};
std::atomic<int> g_last_stream{1};

// What goes before a line of the CLI's own on stderr: on a terminal, once the program wrote
// anything, the end of any string it left open (ST), colours, attributes and character set
// reset (colours a program set in its palette or as defaults could hide the line too); a
// newline where the program's last line on that terminal (or on stderr elsewhere) was unfinished.
std::string own_line_start() {
    if (!g_passed.exchange(false)) return {};
    const bool terminal = ::isatty(STDERR_FILENO) == 1;
    const bool shared = terminal && ::isatty(STDOUT_FILENO) == 1;
    const int last = shared ? g_last_stream.load() : 1;
    // ST, default colours (OSC 110/111) and palette (OSC 104) back, SGR 0, G0 ASCII, SI.
    std::string out = terminal ? "\x1b\\\x1b]110\x1b\\\x1b]111\x1b\\\x1b]104\x1b\\\x1b[0m\x1b(B\x0f" : "";
    if (g_mid_line[last].load()) out += "\n";
    g_mid_line[0] = g_mid_line[1] = false;
    return out;
}

}  // namespace

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
        if (cp <= 0x9f || invisible(cp)) {
            out += cp > 0xffff ? "\\U" : "\\u";
            hex(out, cp, cp > 0xffff ? 8 : 4);
        } else {
            out.append(text.substr(i, len));
        }
        i += len;
    }
    return out;
}

void write_passthrough(OutputStream stream, std::string_view chunk) {
    if (chunk.empty()) return;
    const int index = stream == OutputStream::Stdout ? 0 : 1;
    (void)host::write_all(index == 0 ? STDOUT_FILENO : STDERR_FILENO, chunk);
    g_mid_line[index] = chunk.back() != '\n';
    g_last_stream = index;
    g_passed = true;
}

void print_error(const std::string& kind, const std::string& message) {
    host::write_all(STDERR_FILENO, own_line_start() + "error: " + terminal_safe(kind) + ": " + terminal_safe(message) + "\n");
}

void print_result_json(const ExecutionResult& r) {
    std::fflush(stdout);
    host::write_all(STDOUT_FILENO, json_text(to_json(r)) + "\n");
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
        host::write_all(STDERR_FILENO, own_line_start() + "microvm: output truncated at " +
                                           (output_cap ? std::to_string(*output_cap) + " bytes"
                                                       : std::string("the daemon's limit")) +
                                           " per stream\n");
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
