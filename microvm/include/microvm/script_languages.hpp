// The script languages ScriptSource accepts and how each interpreter takes its source: one table
// for the host (program_command: interpreter found on the host, bound into the sandbox) and the
// guest agent (interpreter found inside a VM image).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace microvm {

struct ScriptInterpreter {
    const char* language;
    const char* program;      // bare name, looked up in the sandbox PATH
    const char* source_flag;  // the source follows this flag
    const char* arg0;         // sh/bash -c take $0 after the source; nullptr otherwise
};

// nullptr for a language not in the table.
const ScriptInterpreter* script_interpreter(std::string_view language);

// Every accepted language name, for messages and the docs.
std::vector<std::string> script_languages();

// argv of the interpreter at interpreter_path running source with the execution's args (the
// source travels as one argument, so stdin stays the program's and no file is written).
std::vector<std::string> script_argv(const ScriptInterpreter& interp,
                                     const std::string& interpreter_path,
                                     const std::string& source,
                                     const std::vector<std::string>& args);

}  // namespace microvm
