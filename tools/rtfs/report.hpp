// How the `rtfs` command reports an evaluation: the printed value on stdout, or
// "error: Kind: message (at l:c)" on stderr; with --json one JSON object on stdout. And the
// exit status each outcome maps to.
#pragma once

#include "session.hpp"

namespace rtfs::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntimeError = 1;
inline constexpr int kExitReadError = 2;
inline constexpr int kExitUsage = 64;     // as sysexits' EX_USAGE and the microvm command
inline constexpr int kExitTimeout = 124;  // --timeout reached, as the microvm command

void report(const Outcome& outcome, bool json);
int exit_status(const Outcome& outcome, bool timeout_given);

// "error: <text>" on stderr (usage and I/O problems of the tool itself).
void report_failure(const std::string& text);

}  // namespace rtfs::cli
