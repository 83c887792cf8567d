// Locating the RTFS runtime compiled to wasm32-wasi. Running it (part 2) goes through
// run_module (engine.hpp) with the job on stdin and the result frame read from fd 3.
#include <sys/stat.h>

#include <cstdlib>
#include <string>

#include "microvm/wasm/wasm_provider.hpp"

namespace microvm {
namespace {

bool is_file(const std::string& path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

Expected<std::string> find_rtfs_guest_wasm() {
    if (const char* env = std::getenv("MICROVM_RTFS_WASM"); env && *env) {
        if (is_file(env)) return std::string(env);
        return fail(Failure::Kind::ProviderUnavailable,
                    std::string("MICROVM_RTFS_WASM names ") + env + ", which is not a file");
    }
    const std::string built = MICROVM_RTFS_WASM_BUILD_PATH;
    if (is_file(built)) return built;
    return fail(Failure::Kind::ProviderUnavailable,
                "rtfs-guest.wasm was not built (needs clang-19 + wasi-libc; expected at " + built +
                    ", or set MICROVM_RTFS_WASM)");
}

}  // namespace microvm
