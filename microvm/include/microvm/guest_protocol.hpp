// The wire format between a sandboxing provider and the guest runner (tools/guest), the one small
// binary that evaluates RTFS inside process, gvisor and VM sandboxes.
//
//   provider -> guest: the job, one JSON object on the guest's stdin, then EOF.
//   guest -> provider: RTFS output (println) on stdout/stderr like any program, and the result as
//                      one frame on fd 3: a 4-byte little-endian length, then that many bytes of
//                      JSON. The guest exits 0 once the frame is written (an RTFS error is a result,
//                      not a guest failure); any other exit means the guest itself failed.
//                      With `--result-file PATH` the guest writes that frame to PATH instead of
//                      fd 3 (sandboxes that pass only stdio, e.g. gvisor).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "microvm/error.hpp"
#include "rtfs/effects.hpp"
#include "rtfs/security.hpp"

namespace microvm::guest {

inline constexpr int kResultFd = 3;
inline constexpr const char* kResultFileFlag = "--result-file";
inline constexpr uint32_t kMaxFrameBytes = 64u << 20;

struct Job {
    std::string source;                 // RTFS program
    std::vector<std::string> args;      // RTFS printed values, bound to *args*
    rtfs::RuntimeContext runtime_context;
    uint64_t timeout_ms = 0;            // evaluator deadline (the sandbox enforces its own too)
    // Capabilities that touch the network check this before any connection (the sandbox's
    // network namespace is the hard boundary; this gives a clear SecurityViolation).
    std::string network_policy;         // NetworkPolicy::to_string() form
};

struct Result {
    bool ok = false;
    std::string value;                  // RTFS printed value when ok
    std::string error_kind;             // RTFS error variant when !ok
    std::string error_message;
    rtfs::EffectLog effects;
};

std::string encode_job(const Job& job);
Expected<Job> decode_job(std::string_view json);
std::string encode_result(const Result& r);          // JSON body, without the length prefix
Expected<Result> decode_result(std::string_view json);
std::string frame(std::string_view body);            // length prefix + body
// Parses one frame from bytes read off fd 3 (exactly one frame expected).
Expected<Result> unframe_result(std::string_view bytes);

// Where to look for the guest runner binary, in this order.
struct GuestRunnerSearch {
    std::optional<std::string> env;  // $MICROVM_GUEST: when set, the only candidate
    std::string executable_dir;      // the running executable's directory (and ../guest)
    std::string build_path;          // the build tree's copy
};
// This process's search: its $MICROVM_GUEST, /proc/self/exe, the build tree.
GuestRunnerSearch default_guest_runner_search();

// Path of the guest runner binary. Error, naming every place looked in, when none exists.
Expected<std::string> find_guest_runner(const GuestRunnerSearch& where);
Expected<std::string> find_guest_runner();  // with default_guest_runner_search()

}  // namespace microvm::guest
