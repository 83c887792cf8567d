#include "gvisor/launch_message.hpp"

#include <unistd.h>

#include <optional>

#include "gvisor/launch_format.hpp"
#include "host/launch_message.hpp"
#include "microvm/built_programs.hpp"
#include "microvm/trusted_path.hpp"

namespace microvm::gvisor {

Expected<std::string> encode_launch(const std::vector<std::string>& argv,
                                    const std::vector<std::string>& env) {
    return host::encode_launch(kLaunchMagic, argv, env);
}

// A launcher of this installation (next to the running executable, in the sibling folder, or in
// the build tree it was built in): a regular, executable file of root or this user that no one
// else may write, and every entry on the way to it, as given and where it leads, root's or this
// user's (searched_real_path; a clone under a sticky /tmp is fine). "Whoever could replace it
// there could replace the executable" does not hold for an installed binary whose build tree was
// removed from below /tmp, or for /tmp/gvisor-launcher/ beside a binary in /tmp/x/: there any
// local user made the path, and their symlink to any executable of root's became the container's
// process of root's runs (red team, 2026-12-05). (It runs inside the sandbox anyway, under
// everything the container enforces.)
Expected<std::string> trust_installed_launcher(const std::string& path) {
    return searched_real_path(path, "gvisor launcher", /*executable=*/true);
}

namespace {

struct LauncherSearch {
    std::optional<std::string> env;      // $MICROVM_GVISOR_LAUNCHER, when set (then nothing is searched)
    std::optional<std::string> trusted;  // otherwise the first installed candidate that is trusted
    std::string looked;                  // where it looked, each refusal with its reason
};

LauncherSearch search_launcher() {
    LauncherSearch out;
    const ProgramSearch where = default_search(kGvisorLauncher);
    out.env = where.env;
    if (out.env) return out;
    out.looked = "$MICROVM_GVISOR_LAUNCHER (unset)";
    for (const std::string& c : program_candidates(kGvisorLauncher, where)) {
        out.looked += ", " + c;
        if (::access(c.c_str(), X_OK) != 0) continue;
        // One refused (on a path another user made) is passed over for the next place and named,
        // never an error of its own: whoever may make that path could otherwise plant anything
        // there to fail every run.
        auto trusted = trust_installed_launcher(c);
        if (trusted) {
            out.trusted = std::move(*trusted);
            return out;
        }
        out.looked += " (" + trusted.error().message + ")";
    }
    return out;
}

}  // namespace

Expected<std::optional<std::string>> find_launcher() {
    LauncherSearch s = search_launcher();
    if (!s.env) return s.trusted;
    // An explicit choice is the only candidate: refused, it is an error, never another launcher
    // or none in its place.
    RTFS_TRY(std::string chosen, trusted_executable(*s.env, "gvisor launcher"));
    return std::optional<std::string>(std::move(chosen));
}

Expected<std::string> require_launcher() {
    LauncherSearch s = search_launcher();
    if (s.env) return trusted_executable(*s.env, "gvisor launcher");
    if (s.trusted) return std::move(*s.trusted);
    return fail(Failure::Kind::SetupError, "no trusted " + std::string(kGvisorLauncher.name) +
                                               " found (sandboxes built ahead need it); looked in: " + s.looked);
}

}  // namespace microvm::gvisor
