// The --json form of an execution result (spec section 4) and the exit status of the CLI.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "microvm/error.hpp"
#include "microvm/result.hpp"

namespace microvm {

// Exit statuses of `microvm eval|run|wasm` (spec section 4).
inline constexpr int kExitTimeout = 124;
inline constexpr int kExitSetup = 125;     // sandbox could not be set up / unavailable
inline constexpr int kExitPolicy = 126;    // policy refused or violated
inline constexpr int kExitNotExecutable = 126;  // the program cannot be executed (as a shell)
inline constexpr int kExitNotFound = 127;  // program not found
inline constexpr int kExitCancelled = 130;  // cancelled (as a shell reports an interrupt)
inline constexpr int kExitMemory = 137;
inline constexpr int kExitSignalBase = 128;  // + signal number
inline constexpr int kExitUsage = 64;
inline constexpr int kExitReadError = 2;  // eval: the RTFS source did not parse

// One JSON object with exactly the keys of spec section 4. Output and messages that are not
// valid UTF-8 have the bad bytes replaced by U+FFFD, so dumping the object never throws.
nlohmann::ordered_json to_json(const ExecutionResult& r);

// A JSON document as the text the CLI, microvmd and its audit log write: pure ASCII, every other
// character \u-escaped (C1 controls, bidirectional overrides and invisible characters a program
// wrote act on no terminal or viewer that shows the document: red team, 2026-12-06), and bytes
// that are not valid UTF-8 replaced by U+FFFD, so that it never throws.
template <class Json>
std::string json_text(const Json& doc, int indent = -1) {
    return doc.dump(indent, ' ', /*ensure_ascii=*/true, Json::error_handler_t::replace);
}

// The inverse of to_json, for a client of the service (`microvm --daemon`): every key to_json
// writes, read back (to_json(*result_from_json(to_json(r))) == to_json(r)). A document that is
// not a result (a missing key, a wrong type, an unknown status or reason) fails, naming the key.
Expected<ExecutionResult> result_from_json(const nlohmann::json& doc);

// The process exit status for a result, from its error's reason; is_eval selects the `eval`
// rules (0 ok / 1 RTFS error) over the `run` rules (the program's own exit code).
int exit_status_for(const ExecutionResult& r, bool is_eval);

}  // namespace microvm
