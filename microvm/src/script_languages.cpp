#include "microvm/script_languages.hpp"

namespace microvm {
namespace {

constexpr ScriptInterpreter kInterpreters[] = {
    {"sh", "sh", "-c", "sh"},
    {"bash", "bash", "-c", "bash"},
    {"python3", "python3", "-c", nullptr},
    {"python", "python3", "-c", nullptr},
    {"node", "node", "-e", nullptr},
    {"javascript", "node", "-e", nullptr},
    {"perl", "perl", "-e", nullptr},
};

}  // namespace

const ScriptInterpreter* script_interpreter(std::string_view language) {
    for (const ScriptInterpreter& i : kInterpreters) {
        if (language == i.language) return &i;
    }
    return nullptr;
}

std::vector<std::string> script_languages() {
    std::vector<std::string> names;
    for (const ScriptInterpreter& i : kInterpreters) names.emplace_back(i.language);
    return names;
}

std::vector<std::string> script_argv(const ScriptInterpreter& interp,
                                     const std::string& interpreter_path,
                                     const std::string& source,
                                     const std::vector<std::string>& args) {
    std::vector<std::string> argv{interpreter_path, interp.source_flag, source};
    if (interp.arg0) argv.emplace_back(interp.arg0);
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

}  // namespace microvm
