#include "gvisor/launch_message.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "gvisor/launch_format.hpp"
#include "microvm/trusted_path.hpp"

namespace microvm::gvisor {

Expected<std::string> encode_launch(const std::vector<std::string>& argv,
                                    const std::vector<std::string>& env) {
    if (argv.empty()) return fail(Failure::Kind::InvalidInput, "a program needs an argv[0]");
    size_t bytes = 0;
    for (const auto* list : {&argv, &env}) {
        for (const std::string& s : *list) {
            if (s.find('\0') != std::string::npos) {
                return fail(Failure::Kind::InvalidInput, "an argument or variable holds a NUL byte");
            }
            bytes += s.size() + 1;
        }
    }
    if (bytes > kMaxLaunchBytes || argv.size() + env.size() > kMaxLaunchStrings) {
        return fail(Failure::Kind::InvalidInput,
                    "the program's arguments and environment exceed what a sandbox built ahead "
                    "takes (" + std::to_string(kMaxLaunchBytes) + " bytes, " +
                        std::to_string(kMaxLaunchStrings) + " strings)");
    }
    LaunchHeader h;
    h.magic = kLaunchMagic;
    h.argc = static_cast<uint32_t>(argv.size());
    h.envc = static_cast<uint32_t>(env.size());
    h.bytes = static_cast<uint32_t>(bytes);
    std::string out(reinterpret_cast<const char*>(&h), sizeof h);
    out.reserve(sizeof h + bytes);
    for (const auto* list : {&argv, &env}) {
        for (const std::string& s : *list) out.append(s).push_back('\0');
    }
    return out;
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
