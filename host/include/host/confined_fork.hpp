// Running hostile input's work in a confined child of this process, and taking back what it
// reports: the way a host-side engine that parses and runs hostile input (the wasm provider's
// interpreter) keeps a bug in itself from being a bug in the host. Two forms:
//   - a program (ConfinedCall::program): the child executes it at once, so it holds nothing of
//     the host's memory (its tokens, its keys) and runs no code under a lock another host thread
//     held at the fork; the program confines itself with serve_confined_child before it reads
//     anything hostile. The form for a multithreaded host (the CLI, microvmd).
//   - a function (ConfinedCall::body) run in the forked copy itself, which holds whatever the
//     host had in memory at the fork: for tests of the confinement and single-threaded callers.
// The child:
//   - holds none of the host's descriptors: only its channel, its connector if any, and what
//     ConfinedCall::prepare opens (stdin/stdout/stderr are /dev/null); is not dumpable, writes
//     no core file, and dies with the host thread that forked it;
//   - runs under a system-call filter that refuses what reaches past the process: exec, fork,
//     namespaces, mounts, ptrace and process_vm_*, signals to or limits of any other process,
//     kernel keys, modules, bpf, perf, io_uring, credentials, owners, modes and extended
//     attributes, sessions and process groups, System V IPC, message queues, memfd,
//     PR_SET_PDEATHSIG, and sockets beyond what ChildRules::sockets allows; and under
//     host::ModeBitsFilter (no set-id mode bits, device nodes; openat2 answers ENOSYS);
//   - under Landlock where the kernel has it: only the paths of ChildRules::paths, and no signal
//     or abstract socket outside its domain;
//   - under an address-space limit of what it had after prepare plus ChildRules::memory_bytes;
//   - is killed at the deadline or on cancellation, whatever it is doing; its CPU time comes
//     from the kernel (wait4).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "host/child_process.hpp"
#include "host/landlock.hpp"
#include "host/unique_fd.hpp"

namespace microvm::host {

struct ChildRules {
    enum class Sockets {
        None,      // socket() refused, connect() a no-op (socketpair stays; on_connect_request
                   // hands connected sockets over)
        Internet,  // AF_INET, AF_INET6 (the network policy lets the program out)
    };
    Sockets sockets = Sockets::None;
    // Landlock: the paths the child may reach (files_unrestricted: the whole file system). Where
    // the kernel has no Landlock the child runs without it (ConfinedRun::landlocked says which).
    std::vector<landlock::Rule> paths;
    bool files_unrestricted = false;
    // Address space the child may add to what it had at the fork; 0: no limit.
    uint64_t memory_bytes = 0;
};

// The child's side: messages to the host while it runs, in order, each at most kMaxMessage.
class ChildChannel {
  public:
    static constexpr size_t kMaxMessage = 1u << 20;
    explicit ChildChannel(int fd) : fd_(fd) {}
    // Tags 0-0xFD are the caller's; false when the host is gone or the message is too long.
    bool send(uint8_t tag, std::string_view bytes);
    // A connected socket from the host (ConfinedCall::on_connect_request), for a child that may
    // open none itself; -1 when the host gave none or has no such service.
    int request_socket();

  private:
    int fd_;
};

struct ConfinedRun {
    enum class Ended {
        Reported,   // the function returned; report holds what it returned
        Deadline,   // killed at the deadline
        Cancelled,  // killed on cancellation
        Failed,     // the child died, broke the channel's framing, or could not confine itself
    };
    Ended ended = Ended::Failed;
    // Failed: whose fault. Setup: the host's or the kernel's (a fork refused, a child that could
    // not confine itself); BrokeChannel: the child's framing or report (it was killed for it);
    // Died: it ended without a report, by a signal or an exit of its own.
    enum class Failure { None, Setup, BrokeChannel, Died };
    Failure failure = Failure::None;
    std::string report;
    std::string problem;           // Failed: what happened ("killed by signal 6", ...)
    std::optional<ChildExit> exit; // the child's wait status and rusage, when it was reaped
    bool landlocked = false;       // the child ran under Landlock
};

// The descriptors of a child: the channel, the connector (ConfinedCall::on_connect_request), the
// input (ConfinedCall::input, a memfd sealed against writes), then ConfinedCall::descriptors.
inline constexpr int kChildChannelFd = 3;
inline constexpr int kChildConnectorFd = 4;
inline constexpr int kChildInputFd = 5;
inline constexpr int kChildFirstPassedFd = 6;

struct ConfinedCall {
    // Set: the program the child executes (its path, then its arguments), with an empty
    // environment, reading `input` on kChildInputFd; body, prepare and rules are then the
    // program's own (serve_confined_child).
    std::vector<std::string> program;
    std::string input;  // released once it is in the child's memfd
    // Program form: descriptors the child gets, in this order, from kChildFirstPassedFd on (what
    // the host opened and judged for it: the wasm engine's preopens); the host's copies are
    // closed once the child has them, not held for the whole run.
    std::vector<UniqueFd> descriptors;
    ChildRules rules;
    // Runs in the child before it is confined, holding only its channel: opens what the body will
    // need and the confinement would refuse (trusted work, never on the hostile input), and may
    // add to the child's rules what it opened (Landlock rules on the very descriptors checked).
    std::function<void(ChildRules&)> prepare;
    // Runs in the child; its return value is the report (at most max_report bytes).
    std::function<std::string(ChildChannel&)> body;
    // Runs in the host for each message the child sends, as it arrives.
    std::function<void(uint8_t tag, std::string_view bytes)> on_message;
    // Set: the child may ask for connected sockets (ChildChannel::request_socket), each made by
    // this in the host (invalid: refused). So a child that may open no socket reaches exactly
    // what the host connects it to, never a path or address of its own choosing.
    std::function<UniqueFd()> on_connect_request;
    std::chrono::steady_clock::time_point kill_at = std::chrono::steady_clock::time_point::max();
    const std::atomic<bool>* cancel = nullptr;  // polled every 10 ms
    size_t max_report = 128u << 20;
};

// Forks, confines the child, runs call.body there (or executes call.program) and waits for its
// report, forwarding its messages. Never throws for anything the child does; the child is reaped
// before it returns. With a body, call it only where fork() is safe for this process: a lock held
// by another thread at the fork (one of the caller's, a sanitizer's allocator) stays held in the
// child; with a program the child runs nothing but system calls before its execve.
ConfinedRun run_confined(ConfinedCall call);

// The executed program's side (ConfinedCall::program): its input, read whole from kChildInputFd
// (nullopt past max_bytes or on a read error); then serve_confined_child, which runs prepare,
// confines the process by rules, runs body and sends its report, and exits: 0 when the report
// went out, 1 otherwise (a failed confinement is reported as the host's setup failure).
std::optional<std::string> read_confined_input(size_t max_bytes);
[[noreturn]] void serve_confined_child(ChildRules rules, const std::function<void(ChildRules&)>& prepare,
                                       const std::function<std::string(ChildChannel&)>& body,
                                       size_t max_report) noexcept;

}  // namespace microvm::host
