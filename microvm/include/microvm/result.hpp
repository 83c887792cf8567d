// ExecutionResult and its measured metadata.
#pragma once

#include <chrono>
#include <map>
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

// Which stream a chunk of a program's output came from.
enum class OutputStream { Stdout, Stderr };

// How much the CPU limit held the program back, as the kernel's CFS bandwidth control counts it
// (cpu.stat): periods of kCpuPeriodUs in which it ran, those in which it used up its quota and
// waited, and the time it waited, summed over the CPUs its threads waited on (so a program of
// several threads can wait longer than the wall time).
struct CpuThrottling {
    uint64_t periods = 0;
    uint64_t throttled_periods = 0;
    std::chrono::nanoseconds throttled_time{0};
    bool operator==(const CpuThrottling&) const = default;
};

// Every figure here is measured (kernel counters, clocks), never copied from the config.
struct ExecutionMetadata {
    std::chrono::nanoseconds duration{0};             // wall clock
    std::optional<std::chrono::nanoseconds> cpu_time; // user+sys of everything run; nullopt = unknown
    std::optional<CpuThrottling> cpu_throttling;      // the cgroup's counters; nullopt = not measured
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
    // Provider-specific measured facts, name -> value (qemu: accel, start path, vmm_cpu_ms).
    std::map<std::string, std::string> provider_details;
};

// Why an execution did not end ok, one value per cause for every provider: the CLI's exit
// status and the status of the result follow from it, and each has one wording (error_for).
enum class Reason {
    NonzeroExit,       // the program exited with a non-zero code
    RtfsError,         // the RTFS program raised an error; kind is its variant
    Trap,              // a WebAssembly trap
    Timeout,
    MemoryExceeded,
    Signaled,          // ended by a signal it did not get from us
    Cancelled,         // the caller cancelled it (or the provider was cleaned up)
    ProgramNotFound,
    NotExecutable,
    ExecFailed,        // exec failed for another reason (format, loader)
    PolicyRefused,     // a setting the provider cannot enforce, refused before anything ran
    CapabilityDenied,  // the execution's capability is not permitted
    InvalidConfig,
    InvalidProgram,    // a program, module, script or argument that cannot run as given
    SetupError,
    Unavailable,       // the provider is unavailable or not initialized
    GuestProtocol,     // the guest runner broke the protocol (a hostile or crashed guest)
    ProcessLimit,      // the sandbox used up its host task budget and its kernel stopped (gvisor)
};
// The last value of Reason, so that a list of every value can be checked for completeness.
inline constexpr Reason kLastReason = Reason::ProcessLimit;
const char* to_string(Reason r);
// The status a reason gives; for RtfsError it depends on the variant (status_for_rtfs_error).
Status status_for(Reason r, std::string_view rtfs_variant = {});

struct ExecutionError {
    Reason reason = Reason::SetupError;
    std::string kind;  // the RTFS error variant for RtfsError, else to_string(reason)
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
