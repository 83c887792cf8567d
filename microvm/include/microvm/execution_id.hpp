// Execution ids: "exec-" + 16 random hex digits, the same form for the CLI and the service.
#pragma once

#include <string>

namespace microvm {

std::string new_execution_id();

}  // namespace microvm
