#include "report.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace rtfs::cli {

namespace {

void write_line(std::FILE* f, const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), f);
    std::fputc('\n', f);
    std::fflush(f);
}

std::string json_text(const Outcome& o) {
    nlohmann::ordered_json j;
    j["ok"] = o.ok;
    if (o.ok) {
        j["value"] = o.value;
    } else {
        nlohmann::ordered_json err;
        err["kind"] = to_string(o.kind);
        err["message"] = o.message;
        err["line"] = o.line > 0 ? nlohmann::ordered_json(o.line) : nullptr;
        err["column"] = o.line > 0 ? nlohmann::ordered_json(o.column) : nullptr;
        j["error"] = std::move(err);
    }
    if (!o.output.empty()) j["output"] = o.output;
    // Program output may be any bytes: replace invalid UTF-8 rather than fail. ASCII only, as
    // microvm's --json: what a program chose acts on no terminal that shows the document.
    return j.dump(-1, ' ', true, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace

void report(const Outcome& outcome, bool json) {
    if (json) {
        write_line(stdout, json_text(outcome));
    } else if (outcome.ok) {
        write_line(stdout, outcome.value);
    } else {
        write_line(stderr, "error: " + outcome.description);
    }
}

int exit_status(const Outcome& outcome, bool timeout_given) {
    if (outcome.ok) return kExitOk;
    if (outcome.kind == ErrorKind::ReadError) return kExitReadError;
    if (outcome.kind == ErrorKind::Interrupted && timeout_given) return kExitTimeout;
    return kExitRuntimeError;
}

void report_failure(const std::string& text) {
    write_line(stderr, "error: " + text);
}

}  // namespace rtfs::cli
