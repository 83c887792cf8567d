// The host side of the launcher's protocol (launch_format.hpp): the message that starts the
// program of a container built ahead, and where the launcher binary is found.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "microvm/error.hpp"

namespace microvm::gvisor {

// The message for argv (at least one string) and env; InvalidInput when a string holds a NUL
// byte or the whole exceeds kMaxLaunchBytes / kMaxLaunchStrings.
Expected<std::string> encode_launch(const std::vector<std::string>& argv,
                                    const std::vector<std::string>& env);

// The launcher (microvm-gvisor-launcher), which runs inside sandboxes as their first process and
// must lie where no one but root or this user could have replaced it: the path
// $MICROVM_GVISOR_LAUNCHER names when set (then the only candidate, held to trusted_executable),
// else the first of this installation that trust_installed_launcher accepts: next to the
// executable, in ../gvisor-launcher/, or in the build tree (a refused one is passed over).
// nullopt when there is none and the variable is unset; SetupError naming the launcher and why
// when the variable's is refused.
Expected<std::optional<std::string>> find_launcher();
// find_launcher, where none installed is a SetupError too, naming where it looked.
Expected<std::string> require_launcher();

// A launcher of this installation: searched_real_path (microvm/trusted_path.hpp) of an
// executable. Its real path, or SetupError saying why not.
Expected<std::string> trust_installed_launcher(const std::string& path);

}  // namespace microvm::gvisor
