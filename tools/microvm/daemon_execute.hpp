// `microvm --daemon ADDRESS eval|run ...`: the execution sent to microvmd (POST /v1/executions)
// with the same flags, printed as the local CLI prints it, with the same exit status.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cli_options.hpp"
#include "microvm/program.hpp"

namespace microvm::cli {

struct DaemonOptions {
    std::string address;                    // --daemon or $MICROVM_DAEMON
    std::optional<std::string> token_file;  // --token-file or $MICROVM_TOKEN_FILE
    std::optional<std::string> ca_file;     // --daemon-ca: https only
};

// The request body: the program (eval source or run argv) and the policy flags under the
// settings file's names. Flag values are checked here with the local CLI's parsers, so a bad
// value reads the same with or without --daemon; the daemon's settings are the base they apply
// over, so --config and --profile are refused.
Expected<nlohmann::json> execution_body(const PolicyFlags& flags, const Program& program);

int cmd_execute_remote(const DaemonOptions& daemon, const PolicyFlags& flags,
                       const Program& program, bool is_eval);

}  // namespace microvm::cli
