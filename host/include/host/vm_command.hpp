// How a VM provider (qemu, firecracker) maps a program to a command: inside the guest image,
// never on the host. An external program is an absolute path or a bare name the agent looks up
// in the guest's PATH; a script runs its interpreter (looked up the same way) with the source
// as one argument; RTFS goes to the agent itself as an Exec (the command's stdin, as in stdio
// mode, which host::exec_for turns back into the Exec).
#pragma once

#include "host/program_command.hpp"

namespace microvm::host {

inline constexpr const char* kVmAgentPath = "/init";  // the agent is the image's init

rtfs::Expected<Command, CommandError> command_in_image(const ExecutionContext& ctx);

}  // namespace microvm::host
