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

// "error: KIND: MESSAGE" on stderr.
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
