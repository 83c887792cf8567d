#include "host/launch_message.hpp"

namespace microvm::host {

Expected<std::string> encode_launch(uint32_t magic, const std::vector<std::string>& argv,
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
    h.magic = magic;
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

}  // namespace microvm::host
