// Evaluates one RTFS job with the RTFS runtime. Capability calls run here (so the sandbox's own
// network and file-system boundaries bound them); println goes to the given descriptors.
#pragma once

#include "microvm/guest_protocol.hpp"

namespace microvm::guest {

Result evaluate(const Job& job, int stdout_fd, int stderr_fd);

}  // namespace microvm::guest
