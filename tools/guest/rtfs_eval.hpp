// Evaluates one RTFS job with the RTFS runtime. Capability calls run here (so the sandbox's own
// network and file-system boundaries bound them); println goes to the given descriptors.
#pragma once

#include "microvm/guest_protocol.hpp"

namespace microvm::guest {

// on_big_stack: the caller is already on a thread with rtfs::host::kBigStackBytes of stack (a
// run forked ahead waits on one); otherwise the evaluation gets such a thread of its own.
Result evaluate(const Job& job, int stdout_fd, int stderr_fd, bool on_big_stack = false);

}  // namespace microvm::guest
