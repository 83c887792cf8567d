// Channel mode (VMs): Hello, then one Exec after another until the host closes the channel.
#pragma once

#include "channel.hpp"

namespace microvm::guest {

// Returns the process exit code: 0 when the host closed the channel, non-zero when the channel
// broke or the host broke the protocol.
int run_channel_mode(Channel channel);

}  // namespace microvm::guest
