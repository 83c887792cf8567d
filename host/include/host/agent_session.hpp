// The host's end of a guest agent in channel mode (docs/guest-protocol.md), for the VM backends:
// waits for Hello, sends one Exec at a time and follows it to its end under a deadline and a
// cancellation token, keeps stdout/stderr within their caps (handing each kept chunk on as it
// arrives), feeds stdin, and sends Kill when the time is up or the run is cancelled.
//
// Everything the agent sends is untrusted. A malformed, oversized, truncated or out-of-place
// frame ends the run as a ProtocolError naming it, found from the frame's header before its
// payload is awaited; an agent that stops talking runs into the deadline; an agent that stops
// reading cannot block the host (every write is non-blocking and bounded by the deadline). After
// a ProtocolError, ChannelClosed, or a Kill the agent did not answer, the session is unusable
// and the VM behind it must be discarded.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "host/output_capture.hpp"
#include "host/sandbox.hpp"
#include "host/unique_fd.hpp"
#include "microvm/cancel.hpp"
#include "microvm/context.hpp"
#include "microvm/guest_protocol.hpp"

namespace microvm::host {

// The host's CLOCK_REALTIME in nanoseconds, for guest::Setup::realtime_ns (a VM's clock, or a
// restored one's, is set from it).
uint64_t realtime_ns();

struct AgentLimits {
    std::chrono::steady_clock::time_point deadline;
    CancelToken cancel;
    uint64_t max_output_bytes = 1 << 20;  // per stream
    OutputSink on_output;
    std::optional<std::string> stdin_data;  // sent as Stdin frames then EOF; nullopt: no stdin
    // After Kill, how long the agent has to answer with Exit.
    std::chrono::milliseconds kill_grace{1000};
};

struct AgentRun {
    enum class End { Exited, Signaled, Refused, TimedOut, Cancelled, ProtocolError, ChannelClosed };
    End end = End::ProtocolError;
    int exit_code = 0;  // Exited; 128+signal when Signaled
    int signal = 0;     // Signaled
    std::optional<guest::AgentError> refused;  // Refused: why the Exec did not start
    std::string problem;                        // ProtocolError, ChannelClosed: what happened
    std::optional<guest::Usage> usage;          // as the guest kernel measured the program
    CapturedStream stdout_data;
    CapturedStream stderr_data;
    std::optional<std::string> result;  // RTFS: the Result frame's payload (guest::decode_result)
    std::chrono::nanoseconds wall{0};
};

class AgentSession {
  public:
    // channel: a connected, bidirectional descriptor (made non-blocking here).
    explicit AgentSession(UniqueFd channel);

    // The agent's Hello, or a GuestProtocol-worthy failure (InvalidInput) naming what arrived
    // instead; SetupError when the deadline passed, the token was cancelled or the channel
    // closed first.
    Expected<guest::Hello> handshake(std::chrono::steady_clock::time_point deadline,
                                     const CancelToken& cancel = {});
    // A VM's set-up (protocol 2): sends Setup and waits for Ready. An Error frame from the agent
    // is a SetupError with its message; anything else, or nothing in time, leaves the session
    // unusable.
    Expected<guest::Ready> setup(const guest::Setup& setup,
                                 std::chrono::steady_clock::time_point deadline,
                                 const CancelToken& cancel = {});
    // Runs exec to its end (see AgentRun::End). Call only while usable().
    AgentRun run(const guest::Exec& exec, const AgentLimits& limits);

    bool usable() const { return usable_; }

  private:
    UniqueFd channel_;
    agent::FrameDecoder decoder_;
    bool usable_ = true;
};

// The Exec that carries a sandbox request to an agent: the request's own Exec frame for RTFS
// (stdio mode's stdin), else the program with its argv and environment.
Expected<guest::Exec> exec_for(const SandboxRequest& request);

// The limits of a sandbox request's agent run, its timeout counted from ready_at (the agent's
// Ready: a VM's start is not the program's time). stdin goes as Stdin frames for a program;
// an RTFS job carries its own.
AgentLimits agent_limits_for(const SandboxRequest& request, std::chrono::steady_clock::time_point ready_at);

// The report a VM backend gives for an agent run: Refused becomes ExecFailed (with the errno a
// local exec would have given for a missing or non-executable program), ProtocolError and
// ChannelClosed become GuestFailed, a run whose Usage says oom_killed MemoryExceeded. wall, CPU and memory are left to the backend, which measures
// them on the host.
SandboxReport report_of(AgentRun run);

// The host's own figures for the VMM that ran the program: the CPU time it had while the
// program ran (or in all), its peak resident memory (guest RAM included); each when measured.
struct VmmUsage {
    std::optional<std::chrono::nanoseconds> cpu_time;
    std::optional<uint64_t> memory_peak_bytes;
};

// Sets report's CPU time and peak memory. The guest's figures (its Usage frame: the guest kernel's
// accounting of the program alone) are what a program that took over the guest says, so each is
// taken only up to the host's figure for the VMM, and the host's stands where the guest gave
// none. A hostile guest can under-report, never over-report; nothing wraps or goes negative (a
// Usage of 2^63 us made a negative CPU time; red team, 2026-12-05).
void set_measured_usage(SandboxReport& report, const std::optional<guest::Usage>& guest, const VmmUsage& vmm);

}  // namespace microvm::host
