// One Exec in channel mode: starts the program (an executable, a script's interpreter, or a
// forked evaluator for RTFS) in its own process group, relays its stdout and stderr as Output
// frames and the host's Stdin frames to its stdin, obeys Kill, and ends with Result (RTFS),
// Usage and Exit, or with one Error when it could not start.
#pragma once

#include "channel.hpp"
#include "microvm/guest_protocol.hpp"

namespace microvm::guest {

// False when the channel broke or the host broke the protocol (the agent then exits).
bool run_exec(Channel& channel, agent::FrameDecoder& from_host, const Exec& exec);

}  // namespace microvm::guest
