// Locating and loading the RTFS runtime compiled to wasm32-wasi. Running it goes through
// run_module (engine.hpp) with the job on stdin and the result frame read from fd 3.
#include "rtfs_guest.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "host/unique_fd.hpp"
#include "microvm/wasm/wasm_provider.hpp"
#include "module_compiler.hpp"

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

namespace wasm {

Expected<std::shared_ptr<const CompiledModule>> RtfsGuestModule::get() {
    auto path = find_rtfs_guest_wasm();
    if (!path) return rtfs::Unexpected<Failure>{path.error()};
    struct stat st;
    if (stat(path->c_str(), &st) != 0) {
        return fail(Failure::Kind::ProviderUnavailable, "cannot stat " + *path);
    }
    const int64_t mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
    std::lock_guard lock(mu_);
    if (module_ && path_ == *path && size_ == st.st_size && mtime_ns_ == mtime_ns) return module_;
    host::UniqueFd fd(::open(path->c_str(), O_RDONLY | O_CLOEXEC));
    std::optional<std::string> bytes = fd.valid() ? host::read_to_end(fd.get()) : std::nullopt;
    if (!bytes) return fail(Failure::Kind::ProviderUnavailable, "cannot read " + *path);
    auto compiled = compile_module({reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()});
    if (!compiled) {
        return fail(Failure::Kind::ProviderUnavailable,
                    *path + " is not a valid module: " + compiled.error().message);
    }
    module_ = *compiled;
    path_ = *path;
    size_ = st.st_size;
    mtime_ns_ = mtime_ns;
    return module_;
}

void RtfsGuestModule::clear() {
    std::lock_guard lock(mu_);
    module_.reset();
}

}  // namespace wasm
}  // namespace microvm
