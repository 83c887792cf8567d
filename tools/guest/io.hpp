// Whole writes and reads on descriptors, retrying EINTR and short transfers.
#pragma once

#include <string>
#include <string_view>

namespace microvm::guest {

// False when the descriptor failed before everything was written.
bool write_all(int fd, std::string_view bytes);
// Everything up to EOF, stopping once more than limit bytes arrived.
std::string read_until_eof(int fd, size_t limit);

}  // namespace microvm::guest
