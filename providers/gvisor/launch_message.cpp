#include "gvisor/launch_message.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "gvisor/launch_format.hpp"
#include "host/launch_message.hpp"
#include "microvm/trusted_path.hpp"

namespace microvm::gvisor {

Expected<std::string> encode_launch(const std::vector<std::string>& argv,
                                    const std::vector<std::string>& env) {
    return host::encode_launch(kLaunchMagic, argv, env);
}

Expected<std::string> find_launcher() {
    constexpr const char* kName = "microvm-gvisor-launcher";
    constexpr const char* kWhat = "gvisor launcher";
    if (const char* env = std::getenv("MICROVM_GVISOR_LAUNCHER"); env && *env) {
        return trusted_executable(env, kWhat);  // an explicit choice: no other is tried
    }
    std::vector<std::string> candidates;
    std::error_code ec;
    const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const std::filesystem::path dir = self.parent_path();
        candidates.push_back((dir / kName).string());
        candidates.push_back((dir.parent_path() / "gvisor-launcher" / kName).string());
    }
#ifdef MICROVM_BUILD_GVISOR_LAUNCHER_PATH
    candidates.emplace_back(MICROVM_BUILD_GVISOR_LAUNCHER_PATH);
#endif
    std::string looked = "$MICROVM_GVISOR_LAUNCHER (unset)";
    for (const std::string& c : candidates) {
        if (::access(c.c_str(), X_OK) == 0) return trusted_executable(c, kWhat);
        looked += ", " + c;
    }
    return fail(Failure::Kind::SetupError,
                std::string(kName) + " not found (sandboxes built ahead need it); looked in: " +
                    looked);
}

}  // namespace microvm::gvisor
