// What the host sends the engine's program (engine_process.hpp) to compile or run one module:
// the execution's config and run request, and the module, in one flat message on codec_io's
// Writer/Reader. The host writes it and the program reads it before it confines itself, so it is
// trusted input; the module inside it is not, and is decoded only after the confinement.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "engine.hpp"
#include "host/confined_fork.hpp"

namespace microvm::wasm {

struct EngineRequest {
    enum class Mode : uint8_t { Compile, Run };
    Mode mode = Mode::Run;
    // Run: the module in the codec's form (module_codec.hpp); empty: source is compiled.
    std::string compiled;
    std::string source;
    // Compile: the largest compiled form the program sends back.
    uint64_t max_compiled = 0;
    // Run only.
    MicroVMConfig config;
    RunRequest run;  // all but its callbacks, cancel flag and snapshot, which stay in the host
    // The preopens as the host opened and judged them (it holds the protections of trusted state
    // and of private files; a program started afresh holds none of them: red team, 2026-12-07),
    // passed from host::kChildFirstPassedFd on in this order, each at descriptor `guest_fd` of
    // the module's table.
    struct Preopen {
        uint32_t guest_fd = 0;
        uint64_t rights_base = 0, rights_inheriting = 0;
        std::string name;
        bool read_only_tree = false;
    };
    std::vector<Preopen> preopens;
    // The host's private files (host/private_files.hpp), kept private in the program too.
    std::vector<std::string> kept_private;
};

inline constexpr std::string_view kEngineCodecKey = "engine-process";
// The request's first field: a host and a program of different builds refuse each other's.
inline constexpr uint32_t kEngineRequestVersion = 1;
// The program's one argument (anything else: it says what it is and exits 2).
inline constexpr std::string_view kEngineArgument = "--serve-confined";
// A run's program sends its output as it is written under these tags, then its report
// (engine_report.hpp); a compile's program reports one of the three below.
inline constexpr uint8_t kEngineStdoutTag = 1;
inline constexpr uint8_t kEngineStderrTag = 2;
inline constexpr char kCompileDone = 'C';        // then the module in the codec's form
inline constexpr char kCompileNotCarried = 'N';  // valid; the codec does not carry it
inline constexpr char kCompileInvalid = 'I';     // then the compiler's message

// The run's program may use, beyond twice memory_limit_mb (linear memory and its copy in flight),
// this for the interpreter's own memory; the compiler's program this in all.
inline constexpr uint64_t kInterpreterAllowance = 512ull << 20;
inline constexpr uint64_t kCompilerAllowance = 1ull << 30;
// The largest request the program reads (a module is bounded far below by module_size_guard).
inline constexpr size_t kMaxEngineRequest = 1ull << 31;

// nullopt when a string of it does not fit the format (4 GiB).
std::optional<std::string> encode_engine_request(const EngineRequest& request);
std::optional<EngineRequest> decode_engine_request(std::string_view bytes);

// The confinement of the engine's program for a request: the same in the host (which names it
// in the run's metadata) and in the program (which applies it).
host::ChildRules engine_rules(const EngineRequest& request);

}  // namespace microvm::wasm
