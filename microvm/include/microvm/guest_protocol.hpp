// The guest agent protocol, version 1 (docs/guest-protocol.md): the messages between a provider
// and microvm-guest, the one agent binary that runs inside process, gvisor, wasm (its wasm32
// build) and VM sandboxes. Frames are agent_frame.hpp's; payloads are JSON objects except the
// raw bytes of Stdin and Output.
//
// Two ways to wire it:
//   stdio mode (process, gvisor, wasm: the sandbox itself runs and measures the program): one
//     Exec frame (kind rtfs) on the agent's stdin; the agent evaluates it, println goes to its
//     stdout/stderr like any program's, and one Result frame goes to the result channel: fd 3,
//     or the file named by --result-file for sandboxes that pass only stdio (runsc). Exit 0 once
//     the frame is written; any other exit means the agent itself failed.
//   channel mode (VMs: --channel PATH or --channel-fd N, a bidirectional virtio-serial port,
//     vsock or socket): Hello, then for each Exec (rtfs, program or script) Output frames as the
//     program writes, Stdin and Kill from the host, and at the end Result (RTFS), Usage and Exit,
//     or one Error if it could not start.
//
// Every decoder checks every field and never throws: the bytes come from inside a sandbox.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "microvm/agent_frame.hpp"
#include "microvm/built_programs.hpp"
#include "microvm/error.hpp"
#include "microvm/result.hpp"
#include "rtfs/effects.hpp"
#include "rtfs/security.hpp"

namespace microvm::guest {

inline constexpr int kResultFd = 3;
inline constexpr const char* kResultFileFlag = "--result-file";
inline constexpr const char* kChannelFlag = "--channel";
inline constexpr const char* kChannelFdFlag = "--channel-fd";
inline constexpr uint32_t kMaxFrameBytes = agent::kMaxFrameBytes;

// An RTFS run.
struct Job {
    std::string source;                 // RTFS program
    std::vector<std::string> args;      // RTFS printed values, bound to *args*
    rtfs::RuntimeContext runtime_context;
    uint64_t timeout_ms = 0;            // evaluator deadline (the sandbox enforces its own too)
    // Capabilities that touch the network check this before any connection (the sandbox's
    // network namespace is the hard boundary; this gives a clear SecurityViolation).
    std::string network_policy;         // NetworkPolicy::to_string() form
};

// The outcome of an RTFS run.
struct Result {
    bool ok = false;
    std::string value;                  // RTFS printed value when ok
    std::string error_kind;             // RTFS error variant when !ok
    std::string error_message;
    rtfs::EffectLog effects;
};

struct Hello {
    uint32_t protocol = agent::kProtocolVersion;
    std::string agent;               // "microvm-guest <version>"
    std::vector<std::string> kinds;  // Exec kinds it runs: rtfs, program, script
};

struct Exec {
    enum class Kind { Rtfs, Program, Script };
    Kind kind = Kind::Rtfs;
    Job job;                         // Rtfs
    std::vector<std::string> argv;   // Program: argv[0] is an absolute path or a bare name
                                     // looked up in the PATH of env
    std::string language;            // Script: a name from script_languages.hpp
    std::string source;              // Script
    std::vector<std::string> args;   // Script: its arguments
    std::vector<std::string> env;    // Program and Script: the complete environment, NAME=value
    std::string cwd = "/";
    bool stdin_frames = false;       // Stdin frames follow (the last one empty); else no stdin
    // Every kind: the memory the program's processes may use (a cgroup in the guest whose OOM
    // killer ends them; Usage then says oom_killed). 0 = bounded only by the guest's RAM.
    uint64_t memory_max_bytes = 0;
    // Every kind: how many processes the program may have at once (a VM serves one execution,
    // so the guest kernel's task limit bounds them). 0 = unbounded.
    uint64_t max_processes = 0;
    // A pooled VM's warm-up before its Setup (the host's own program, never an execution's): it
    // runs like any Exec but leaves the agent waiting for its Setup, so that the code paths an
    // execution takes are translated already when one claims the VM (TCG).
    bool warmup = false;
};
const char* to_string(Exec::Kind kind);

struct ExitStatus {
    std::optional<int> exit_code;  // exited
    std::optional<int> signal;     // or ended by this signal
};

// As the guest kernel measured the program (wait4 rusage), and the agent's wall clock.
struct Usage {
    uint64_t cpu_user_us = 0;
    uint64_t cpu_system_us = 0;
    uint64_t peak_memory_bytes = 0;
    uint64_t wall_us = 0;
    bool oom_killed = false;  // the guest kernel's OOM killer ended a process of the run
};

// A directory of the host shared into the VM (9p, mount tag `tag`), mounted at `path`.
struct Share {
    std::string tag;
    std::string path;  // absolute, the same path as on the host
    bool writable = false;
};

// What a VM's agent sets up before its first Exec, after a cold boot or a snapshot restore (a
// restored guest's clock and random state are the template's).
struct Setup {
    uint64_t realtime_ns = 0;    // the host's CLOCK_REALTIME; 0: leave the clock alone
    std::string seed_hex;        // random bytes (hex, <= 512 bytes) mixed in and credited
    std::vector<Share> shares;   // mounted in this order (a parent before its children)
    bool network = false;        // configure eth0 for QEMU's user networking (10.0.2.15/24)
    // With network: eth0's address only, no default route and no resolver: the VM's link ends
    // at the host's egress proxy (10.0.2.2:3128), so anything else fails at once (allow/block
    // lists). Sent only when true.
    bool proxy_only = false;
    // The uid the program runs as in the guest (its gid is 65534, nogroup): the uid QEMU serves
    // the 9p shares as, so that the program owns what it creates there. 0: nobody (65534). Never
    // root: root in the guest could lift what the agent set for the run.
    uint32_t program_uid = 0;
};

// The agent's answer to Setup.
struct Ready {
    std::string kernel;  // uname release, for the record
};

struct KillRequest {
    int signal = 9;
};

// Why an Exec did not start. reason is one of program_not_found, not_executable, exec_failed,
// invalid_program, setup_error.
struct AgentError {
    Reason reason = Reason::SetupError;
    std::string message;
};

std::string encode_job(const Job& job);
Expected<Job> decode_job(std::string_view json);
std::string encode_result(const Result& r);
Expected<Result> decode_result(std::string_view json);
std::string encode_hello(const Hello& h);
Expected<Hello> decode_hello(std::string_view json);
std::string encode_exec(const Exec& e);
Expected<Exec> decode_exec(std::string_view json);
std::string encode_exit(const ExitStatus& e);
Expected<ExitStatus> decode_exit(std::string_view json);
std::string encode_usage(const Usage& u);
Expected<Usage> decode_usage(std::string_view json);
std::string encode_kill(const KillRequest& k);
Expected<KillRequest> decode_kill(std::string_view json);
std::string encode_setup(const Setup& s);
Expected<Setup> decode_setup(std::string_view json);
std::string encode_ready(const Ready& r);
Expected<Ready> decode_ready(std::string_view json);
std::string encode_agent_error(const AgentError& e);
Expected<AgentError> decode_agent_error(std::string_view json);

// Stdio mode. The bytes of the agent's stdin for an RTFS job (one Exec frame), and the one Exec
// they must hold.
std::string exec_frame(const Job& job);
Expected<Exec> read_exec_frame(std::string_view bytes);
// The result channel's bytes: one Result frame, and nothing else.
std::string result_frame(const Result& r);
Expected<Result> read_result_frame(std::string_view bytes);

// Path of the guest runner binary (kGuestRunner, built_programs.hpp). Error, naming every place
// looked in, when none exists.
Expected<std::string> find_guest_runner(const ProgramSearch& where);
Expected<std::string> find_guest_runner();  // with default_search(kGuestRunner)

}  // namespace microvm::guest
