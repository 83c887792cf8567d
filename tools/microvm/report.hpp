// How `microvm eval|run|wasm` reports an execution, shared by the local path and the daemon
// client (`--daemon`), so that the two print the same things and exit with the same status.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "microvm/error.hpp"
#include "microvm/result.hpp"

namespace microvm::cli {

// Text for the operator's terminal: control characters, escape sequences, bidirectional and
// other invisible format characters, and bytes that are not valid UTF-8 shown escaped
// (\n, \x1b, \u202e); the rest as is.
std::string terminal_safe(std::string_view text);

// The program's own output, passed through in plain mode (locally and from the daemon), to the
// operator's stdout or stderr. It notes how the program left them, so that the CLI's own lines
// that follow start a line of their own and, on a terminal, come after a reset of whatever the
// program left open there (an OSC string that took them into the window title, concealed text;
// red team, 2026-12-06). Only --json tells the program's words from the CLI's for certain.
void write_passthrough(OutputStream stream, std::string_view chunk);

// "error: KIND: MESSAGE" on stderr (on a line of its own after passed-through output).
void print_error(const std::string& kind, const std::string& message);
// The exit status of a failure before anything ran (bad flags, settings).
int exit_for_failure(const Failure& f);
// The result as one JSON line on stdout (--json), written whole: a stdout a parent made
// non-blocking is waited for, never cut short (std::cout gave up at EAGAIN).
void print_result_json(const ExecutionResult& r);

// Plain output after the program's own output has been passed through: the value (eval) or the
// error, and a note when output was truncated (at output_cap bytes, when known). Returns the
// exit status.
int report_plain(const ExecutionResult& r, bool is_eval, std::optional<uint64_t> output_cap);

}  // namespace microvm::cli
