// Maps a MicroVM program onto the command a process sandbox runs:
//   ExternalProgram  the executable (a bare name is looked up in the sandbox PATH) and its args.
//   ScriptSource     the language's interpreter with the source as its -c/-e argument (so the
//                    script's stdin stays /dev/null and no file has to be written into the
//                    sandbox); the execution's args follow as the script's arguments.
//   RtfsSource       the guest runner, with the job on stdin and the result on fd 3.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "microvm/context.hpp"
#include "microvm/error.hpp"
#include "microvm/result.hpp"

namespace microvm::host {

inline constexpr const char* kSandboxPath = "/usr/local/bin:/usr/bin:/bin";
// One argv string may hold at most 32 pages (MAX_ARG_STRLEN) including its NUL.
inline constexpr size_t kMaxScriptBytes = 128 * 1024 - 1;

struct Command {
    std::string program;  // absolute host path
    std::vector<std::string> argv;
    std::vector<std::string> runtime_dirs;  // interpreter libraries the program needs
    std::optional<std::string> stdin_data;
    bool result_channel = false;  // RTFS: the guest's result frame on fd 3
};

struct CommandError {
    enum class Kind { NotFound, NotExecutable, InvalidInput, SetupError };
    Kind kind;
    std::string message;
};

// How a provider reports a CommandError: its reason, and the exit code a shell would give
// (127 not found, 126 not executable).
struct CommandFailure {
    Reason reason;
    std::optional<int> exit_code;
};
CommandFailure failure_of(const CommandError& e);

// The file a program name names, checked as the kernel will check it at exec (the host's
// planner and the guest agent alike): an absolute path, or a bare name looked up in path_var's
// directories (never a relative path); a regular file with an execute bit (mode bits, not
// access(): root's ignores them). `what` names it in messages ("program", "interpreter for
// python").
rtfs::Expected<std::string, CommandError> locate_program(const std::string& name, const std::string& path_var,
                                                        const std::string& what);

// The command for ctx.program, or why there is none.
rtfs::Expected<Command, CommandError> command_for(const ExecutionContext& ctx);

// The complete environment of a sandboxed program: PATH=kSandboxPath (unless env_vars sets PATH)
// plus exactly config.env_vars. InvalidInput for a name with '=' or a NUL byte.
Expected<std::vector<std::string>> sandbox_environment(const MicroVMConfig& config);

}  // namespace microvm::host
