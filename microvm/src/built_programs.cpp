#include "microvm/built_programs.hpp"

#include <cstdlib>
#include <filesystem>

namespace microvm {

const BuiltProgram kGuestRunner{"microvm-guest", "guest", "MICROVM_GUEST", MICROVM_BUILD_GUEST_PATH};
const BuiltProgram kGvisorLauncher{"microvm-gvisor-launcher", "gvisor-launcher", "MICROVM_GVISOR_LAUNCHER",
                                   MICROVM_BUILD_GVISOR_LAUNCHER_PATH};
const BuiltProgram kRtfsWasmGuest{"rtfs-guest.wasm", "rtfs-wasm", "MICROVM_RTFS_WASM", MICROVM_RTFS_WASM_BUILD_PATH};

namespace {
const BuiltProgram kAll[] = {kGuestRunner, kGvisorLauncher, kRtfsWasmGuest};
}  // namespace

std::span<const BuiltProgram> built_programs() { return kAll; }

std::string own_executable() {
    std::error_code ec;
    std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec || !self.is_absolute() ? std::string() : self.string();
}

ProgramSearch default_search(const BuiltProgram& program) { return default_search(program, own_executable()); }

ProgramSearch default_search(const BuiltProgram& program, const std::string& self) {
    ProgramSearch where;
    if (const char* env = std::getenv(program.env_var); env && *env) where.env = env;
    if (!self.empty()) where.executable_dir = std::filesystem::path(self).parent_path().string();
    where.build_path = program.build_path;
    return where;
}

std::vector<std::string> program_candidates(const BuiltProgram& program, const ProgramSearch& where) {
    if (where.env) return {*where.env};
    std::vector<std::string> out;
    if (!where.executable_dir.empty()) {
        const std::filesystem::path dir = where.executable_dir;
        out.push_back((dir / program.name).string());
        out.push_back((dir.parent_path() / program.build_folder / program.name).string());
    }
    if (!where.build_path.empty()) out.push_back(where.build_path);
    return out;
}

std::vector<std::string> program_candidates(const BuiltProgram& program) {
    return program_candidates(program, default_search(program));
}

}  // namespace microvm
