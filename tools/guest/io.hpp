// Whole reads on descriptors, retrying EINTR and short transfers; whole writes are the host's.
#pragma once

#include <string>
#include <string_view>

#include "host/unique_fd.hpp"

namespace microvm::guest {

// Whole writes: the host's (false when the descriptor failed before everything was written).
using host::write_all;
// Everything up to EOF, stopping once more than limit bytes arrived.
std::string read_until_eof(int fd, size_t limit);

}  // namespace microvm::guest
