#include "gvisor/launch_message.hpp"

#include <optional>

#include "gvisor/launch_format.hpp"
#include "host/launch_message.hpp"
#include "microvm/built_programs.hpp"
#include "microvm/trusted_path.hpp"

namespace microvm::gvisor {
namespace {
constexpr const char* kWhat = "gvisor launcher";
}  // namespace

Expected<std::string> encode_launch(const std::vector<std::string>& argv,
                                    const std::vector<std::string>& env) {
    return host::encode_launch(kLaunchMagic, argv, env);
}

// A launcher of this installation (next to the running executable, in the sibling folder, or in
// the build tree it was built in): a regular, executable file of root or this user that no one
// else may write, and every entry met while resolving it root's or this user's
// (searched_real_path, which search_candidates applies to each installed candidate; a clone
// under a sticky /tmp is fine). "Whoever could replace it
// there could replace the executable" does not hold for an installed binary whose build tree was
// removed from below /tmp, or for /tmp/gvisor-launcher/ beside a binary in /tmp/x/: there any
// local user made the path, and their symlink to any executable of root's became the container's
// process of root's runs (red team, 2026-12-05). (It runs inside the sandbox anyway, under
// everything the container enforces.)
Expected<std::string> trust_installed_launcher(const std::string& path) {
    return searched_real_path(path, kWhat, /*executable=*/true);
}

Expected<std::optional<std::string>> find_launcher() {
    const ProgramSearch where = default_search(kGvisorLauncher);
    if (!where.env) return search_candidates(kGvisorLauncher, where, /*executable=*/true, kWhat).trusted;
    // An explicit choice is the only candidate: refused, it is an error, never another launcher
    // or none in its place.
    RTFS_TRY(std::string chosen, trusted_executable(*where.env, kWhat));
    return std::optional<std::string>(std::move(chosen));
}

Expected<std::string> require_launcher() {
    const ProgramSearch where = default_search(kGvisorLauncher);
    if (where.env) return trusted_executable(*where.env, kWhat);
    SearchedProgram found = search_candidates(kGvisorLauncher, where, /*executable=*/true, kWhat);
    if (found.trusted) return std::move(*found.trusted);
    std::string looked = "$MICROVM_GVISOR_LAUNCHER (unset)";
    for (const std::string& place : found.looked) looked += ", " + place;
    return fail(Failure::Kind::SetupError, "no trusted " + std::string(kGvisorLauncher.name) +
                                               " found (sandboxes built ahead need it); looked in: " + looked);
}

}  // namespace microvm::gvisor
