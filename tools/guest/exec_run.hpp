// One Exec in channel mode: starts the program (an executable, a script's interpreter, or a
// forked evaluator for RTFS) in its own process group, relays its stdout and stderr as Output
// frames and the host's Stdin frames to its stdin, obeys Kill, and ends with Result (RTFS),
// Usage and Exit, or with one Error when it could not start.
#pragma once

#include "channel.hpp"
#include "microvm/guest_protocol.hpp"

namespace microvm::guest {

// False when the channel broke or the host broke the protocol (the agent then exits). payload:
// the Exec frame's, as exec was decoded from.
bool run_exec(Channel& channel, agent::FrameDecoder& from_host, const Exec& exec,
              std::string_view payload);

// VM mode, before the Hello and after each run: forks the next run's process ahead, in its run
// cgroup, waiting for its Exec on the RTFS evaluator's big-stack thread (memory.max and the task
// limit are set when the Exec comes, before the child reads it). A template's snapshot holds it,
// so a restored VM's run forks nothing; a pooled VM's warm-ups take the same way as its
// execution. Without it (no cgroup2, a failure here) the Exec forks its own process.
void prepare_next_run(int channel_fd);

}  // namespace microvm::guest
