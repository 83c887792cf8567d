#include "gvisor/launch_message.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
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

// A launcher of this installation (next to the running executable, or in the build tree it was
// built in) is trusted as that executable is: whoever could replace it there could replace the
// executable too, so the directories above are not held to more (a clone under a sticky /tmp
// is fine). The file itself: a regular, executable file of root or this user that no one else
// may write. (It runs inside the sandbox anyway, under everything the container enforces.)
Expected<std::string> trust_installed_launcher(const std::string& path) {
    constexpr const char* what = "gvisor launcher";
    std::error_code ec;
    const std::filesystem::path real = std::filesystem::canonical(path, ec);
    if (ec) return fail(Failure::Kind::SetupError, std::string("cannot resolve ") + what + " " + path);
    struct stat st;
    if (::stat(real.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || !(st.st_mode & S_IXUSR)) {
        return fail(Failure::Kind::SetupError, std::string(what) + " " + real.string() + " is not an executable file");
    }
    if ((st.st_uid != 0 && st.st_uid != ::geteuid()) || (st.st_mode & (S_IWGRP | S_IWOTH))) {
        return fail(Failure::Kind::SetupError,
                    std::string("refusing ") + what + " " + real.string() +
                        ": it must belong to root or this user and be writable by no one else");
    }
    return real.string();
}

namespace {

struct LauncherSearch {
    std::optional<std::string> env;       // $MICROVM_GVISOR_LAUNCHER, when set
    std::optional<std::string> found;     // otherwise the first installed candidate
    std::string looked;                   // where it looked, for a message
};

LauncherSearch search_launcher() {
    LauncherSearch out;
    const ProgramSearch where = default_search(kGvisorLauncher);
    out.env = where.env;
    if (out.env) return out;
    out.looked = "$MICROVM_GVISOR_LAUNCHER (unset)";
    for (const std::string& c : program_candidates(kGvisorLauncher, where)) {
        if (::access(c.c_str(), X_OK) == 0) {
            out.found = c;
            return out;
        }
        out.looked += ", " + c;
    }
    return out;
}

}  // namespace

Expected<std::optional<std::string>> find_launcher() {
    LauncherSearch s = search_launcher();
    // An explicit choice is the only candidate: refused, it is an error, never another launcher
    // or none in its place.
    if (!s.env && !s.found) return std::optional<std::string>();
    Expected<std::string> trusted = s.env ? trusted_executable(*s.env, "gvisor launcher") : trust_installed_launcher(*s.found);
    if (!trusted) return rtfs::Unexpected<Failure>{std::move(trusted).error()};
    return std::optional<std::string>(std::move(*trusted));
}

Expected<std::string> require_launcher() {
    RTFS_TRY(std::optional<std::string> found, find_launcher());
    if (found) return std::move(*found);
    return fail(Failure::Kind::SetupError, std::string(kGvisorLauncher.name) +
                                               " not found (sandboxes built ahead need it); looked in: " +
                                               search_launcher().looked);
}

}  // namespace microvm::gvisor
