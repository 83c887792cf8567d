// Program: what an execution runs.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace microvm {

struct RtfsSource {
    std::string source;
};
struct ExternalProgram {
    std::string path;
    std::vector<std::string> args;
};
// Binary WebAssembly, or WAT text (converted on load).
struct WasmModule {
    std::vector<uint8_t> bytes;
};
struct ScriptSource {
    std::string language;  // "sh", "python3", "node", ...
    std::string source;
};

// Trusted C++ callable, run only by in-process providers. It receives the execution's args
// (RTFS printed forms) and returns an RTFS printed value, or an error message.
struct NativeResult {
    bool ok = true;
    std::string value;  // RTFS printed form when ok, error message otherwise
};
struct NativeFunction {
    std::function<NativeResult(const std::vector<std::string>& args)> fn;
};

using Program = std::variant<RtfsSource, ExternalProgram, WasmModule, ScriptSource, NativeFunction>;

enum class ProgramKind { Rtfs, External, Wasm, Script, Native };

inline ProgramKind kind_of(const Program& p) { return static_cast<ProgramKind>(p.index()); }
const char* to_string(ProgramKind k);

}  // namespace microvm
