// Stdio mode (process, gvisor): one Exec frame (kind rtfs) on stdin, println on stdout/stderr,
// one Result frame on fd 3 (or the --result-file). Returns the process exit code.
#pragma once

namespace microvm::guest {

int run_stdio_mode();

}  // namespace microvm::guest
