// Directories a host process names after itself ("<prefix><owner pid>-..."), left behind when
// that process died before removing them: each provider sweeps its own when it starts.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace microvm::host {

// Removes the directories in parent named prefix + a pid whose process is gone (not this
// process's, not a live one's); returns how many.
size_t remove_dirs_of_dead_owners(const std::string& parent, std::string_view prefix);

}  // namespace microvm::host
