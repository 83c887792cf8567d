// The subcommands of `microvm`. Each returns the process exit status.
#pragma once

#include <string>
#include <vector>

#include "cli_options.hpp"
#include "microvm/program.hpp"

namespace microvm::cli {

int cmd_providers(bool json);
// Runs one program through the chosen provider and reports it (plain or --json).
int cmd_execute(const PolicyFlags& flags, Program program, std::vector<std::string> args,
                bool is_eval);

}  // namespace microvm::cli
