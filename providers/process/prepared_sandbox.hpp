// A process sandbox built ahead (Sandbox::prepare): the init has built namespaces, root and
// cgroup for a request shape and waits on its launch socket. launch() restarts the cgroup's
// measurements, sends the program's argv and environment and supervises it as a fresh run
// would, with the request's time limit, input and output caps counted from the launch.
#pragma once

#include <memory>

#include "host/sandbox.hpp"

namespace microvm::process {

struct LiveSandbox;

std::unique_ptr<host::PreparedRun> make_prepared_run(std::unique_ptr<LiveSandbox> live,
                                                     const host::SandboxRequest& shape);

}  // namespace microvm::process
