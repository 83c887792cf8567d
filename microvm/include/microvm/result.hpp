// ExecutionResult and its measured metadata.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rtfs/effects.hpp"

namespace microvm {

enum class Status {
    Ok,
    RuntimeError,     // the program failed: RTFS error, non-zero exit, trap
    Timeout,
    MemoryExceeded,
    Killed,           // ended by a signal
    PolicyViolation,  // an attempt the policy denied and the provider could attribute
    InvalidInput,     // unparsable program, bad module, bad config
    SetupError,       // the provider could not build the sandbox
    Unavailable,
};
const char* to_string(Status s);

// The status of an execution whose RTFS program ended with the error `variant` (e.g.
// "DivisionByZero" -> runtime_error, "SecurityViolation" -> policy_violation, "ReadError" ->
// invalid_input, "ResourceLimit" -> memory_exceeded, "Interrupted" -> timeout). One mapping for
// every provider.
Status status_for_rtfs_error(std::string_view variant);

enum class Isolation { None, Process, Container, VM, Wasm };
const char* to_string(Isolation i);

// Every figure here is measured (kernel counters, clocks), never copied from the config.
struct ExecutionMetadata {
    std::chrono::nanoseconds duration{0};             // wall clock
    std::optional<std::chrono::nanoseconds> cpu_time; // user+sys of everything run; nullopt = unknown
    std::optional<double> memory_peak_mb;             // peak RSS or cgroup peak; nullopt = unknown
    std::optional<int> exit_code;
    std::optional<int> signal;
    std::string stdout_data;
    std::string stderr_data;
    bool stdout_truncated = false;
    bool stderr_truncated = false;
    std::vector<rtfs::NetworkRequest> network_requests;
    std::vector<rtfs::FileOperation> file_operations;
    std::string provider;
    Isolation isolation = Isolation::None;
};

struct ExecutionError {
    std::string kind;     // RTFS error variant, or a provider error kind
    std::string message;
};

struct ExecutionResult {
    std::string execution_id;
    Status status = Status::Ok;
    // RTFS programs: the printed RTFS value. Other programs: nullopt (see exit_code/stdout).
    std::optional<std::string> value;
    std::optional<ExecutionError> error;  // set when status != Ok
    ExecutionMetadata metadata;

    bool ok() const { return status == Status::Ok; }
};

}  // namespace microvm
