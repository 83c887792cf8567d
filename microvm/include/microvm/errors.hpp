// Setting an execution's error from its reason, with one wording per reason for every provider
// (a timeout reads the same whether the mock evaluator, the wasm engine or a sandbox hit it).
#pragma once

#include <string>

#include "microvm/config.hpp"
#include "microvm/result.hpp"

namespace microvm {

// Sets r.status (status_for(reason, kind)) and r.error; kind defaults to to_string(reason).
void set_error(ExecutionResult& r, Reason reason, std::string message, std::string kind = {});

// The wording of the endings no program chose: Timeout ("execution exceeded the timeout of
// 2s"), MemoryExceeded, Cancelled, Signaled (with the signal), NonzeroExit (with the code).
std::string reason_message(Reason reason, const MicroVMConfig& config, int signal = 0,
                           int exit_code = 0);

// "SIGKILL" for 9, "signal N" when unknown.
std::string signal_name(int sig);

}  // namespace microvm
