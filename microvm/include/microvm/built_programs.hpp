// The programs the project builds beside its tools and the host runs: the guest runner (every
// RTFS program on process and gvisor), the gvisor launcher (gvisor's sandboxes built ahead), the
// RTFS runtime for wasm32-wasi (every RTFS program on wasm) and the wasm engine (every module on
// wasm).
// Each is looked for in one order: the variable that names it (then the only candidate), beside
// the running executable, in its build folder beside the executable's (a build tree's
// tools/guest/ beside tools/microvm/), and where this build put it. A sandbox that replaced one
// would see, and could forge, every later run, so every candidate is trusted state
// (host/src/trusted_state.cpp protects them all).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "microvm/error.hpp"

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
extern const BuiltProgram kWasmEngine;

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

// What the search found among the candidates (the variable's value is the caller's to judge, as
// the explicit choice it is): the real path of the first that exists (a regular file, with an
// execute bit when executable) and that searched_real_path (trusted_path.hpp) trusts, and every
// candidate looked at, a refused one with the reason. A refused one is passed over, never an
// error of its own: whoever could plant a file there must not be able to fail every run.
struct SearchedProgram {
    std::optional<std::string> trusted;
    std::vector<std::string> looked;
    bool refused = false;  // at least one candidate existed but was not trusted
};
SearchedProgram search_candidates(const BuiltProgram& program, const ProgramSearch& where, bool executable,
                                  std::string_view what);

// An executable program's trusted real path: the variable's value when set (then the only
// candidate, judged by owned_executable), else what search_candidates found. SetupError naming
// `what` and every place looked in otherwise.
Expected<std::string> find_built_executable(const BuiltProgram& program, const ProgramSearch& where,
                                            std::string_view what);

// The running executable's path (/proc/self/exe); empty when it cannot be read.
std::string own_executable();

}  // namespace microvm
