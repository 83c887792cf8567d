// The programs the project builds beside its tools and the host runs: the guest runner (every
// RTFS program on process and gvisor), the gvisor launcher (gvisor's sandboxes built ahead) and
// the RTFS runtime for wasm32-wasi (every RTFS program on wasm).
// Each is looked for in one order: the variable that names it (then the only candidate), beside
// the running executable, in its build folder beside the executable's (a build tree's
// tools/guest/ beside tools/microvm/), and where this build put it. A sandbox that replaced one
// would see, and could forge, every later run, so every candidate is trusted state
// (host/src/trusted_state.cpp protects them all).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace microvm {

struct BuiltProgram {
    const char* name;          // its file name: "microvm-guest"
    const char* build_folder;  // its folder in the build tree, beside the tools' folders: "guest"
    const char* env_var;       // the variable that names it explicitly: "MICROVM_GUEST"
    const char* build_path;    // where this build put it
};

extern const BuiltProgram kGuestRunner;
extern const BuiltProgram kGvisorLauncher;
extern const BuiltProgram kRtfsWasmGuest;

// Every program above.
std::span<const BuiltProgram> built_programs();

// Where one process looks for a program.
struct ProgramSearch {
    std::optional<std::string> env;  // the naming variable's value: when set, the only candidate
    std::string executable_dir;      // the running executable's directory
    std::string build_path;          // this build's copy
};

// This process's search for program: its variable, the directory of /proc/self/exe, its build
// path.
ProgramSearch default_search(const BuiltProgram& program);
// The same with the running executable's path already read (own_executable()).
ProgramSearch default_search(const BuiltProgram& program, const std::string& own_executable);

// Every path the search could pick, in its order.
std::vector<std::string> program_candidates(const BuiltProgram& program, const ProgramSearch& where);
std::vector<std::string> program_candidates(const BuiltProgram& program);  // default_search

// The running executable's path (/proc/self/exe); empty when it cannot be read.
std::string own_executable();

}  // namespace microvm
