#include "gvisor/launch_message.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

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

Expected<std::string> find_launcher() {
    constexpr const char* kWhat = "gvisor launcher";
    const ProgramSearch where = default_search(kGvisorLauncher);
    if (where.env) return trusted_executable(*where.env, kWhat);  // an explicit choice: no other is tried
    std::string looked = "$MICROVM_GVISOR_LAUNCHER (unset)";
    for (const std::string& c : program_candidates(kGvisorLauncher, where)) {
        if (::access(c.c_str(), X_OK) == 0) return trust_installed_launcher(c);
        looked += ", " + c;
    }
    return fail(Failure::Kind::SetupError,
                std::string(kGvisorLauncher.name) + " not found (sandboxes built ahead need it); looked in: " +
                    looked);
}

}  // namespace microvm::gvisor
