#include "host/program_command.hpp"

#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include "microvm/guest_run.hpp"
#include "microvm/script_languages.hpp"
#include "host/paths.hpp"

namespace microvm::host {

namespace {

using Result = rtfs::Expected<Command, CommandError>;

rtfs::Unexpected<CommandError> error(CommandError::Kind kind, std::string message) {
    return {CommandError{kind, std::move(message)}};
}

std::vector<std::string> existing(const std::vector<std::string>& patterns) {
    std::vector<std::string> dirs;
    for (const std::string& pattern : patterns) {
        glob_t g{};
        if (::glob(pattern.c_str(), GLOB_ONLYDIR, nullptr, &g) == 0) {
            for (size_t i = 0; i < g.gl_pathc; ++i) dirs.emplace_back(g.gl_pathv[i]);
        }
        ::globfree(&g);
    }
    return dirs;
}

// Library directories an interpreter reads at startup (bound read-only with fs none).
std::vector<std::string> interpreter_runtime(const std::string& program) {
    auto real = canonical_host_path(program);
    std::string base = real ? real->substr(real->rfind('/') + 1) : "";
    if (base.rfind("python", 0) == 0) return existing({"/usr/lib/" + base});
    if (base.rfind("perl", 0) == 0)
        return existing({"/usr/share/perl", "/usr/share/perl5", "/usr/lib/*/perl",
                         "/usr/lib/*/perl5", "/usr/lib/*/perl-base"});
    return {};
}

// An absolute path, or a bare name looked up in the sandbox PATH.
Result locate(const std::string& name, const std::string& what) {
    RTFS_TRY(std::string path, locate_program(name, kSandboxPath, what));
    Command c;
    c.program = std::move(path);
    return c;
}

Result external(const ExternalProgram& p) {
    for (const std::string& a : p.args) {
        if (a.find('\0') != std::string::npos) {
            return error(CommandError::Kind::InvalidInput, "an argument contains a NUL byte");
        }
    }
    RTFS_TRY(Command c, locate(p.path, "program"));
    c.argv.push_back(p.path.front() == '/' ? p.path : c.program);
    c.argv.insert(c.argv.end(), p.args.begin(), p.args.end());
    return c;
}

Result script(const ScriptSource& s, const std::vector<std::string>& args) {
    const ScriptInterpreter* interp = script_interpreter(s.language);
    if (!interp) {
        std::string known;
        for (const std::string& l : script_languages()) known += (known.empty() ? "" : ", ") + l;
        return error(CommandError::Kind::InvalidInput,
                     "unknown script language '" + s.language + "' (known: " + known + ")");
    }
    if (s.source.find('\0') != std::string::npos) {
        return error(CommandError::Kind::InvalidInput, "script source contains a NUL byte");
    }
    if (s.source.size() > kMaxScriptBytes) {
        return error(CommandError::Kind::InvalidInput,
                     "script source is " + std::to_string(s.source.size()) +
                         " bytes; the process provider passes scripts as one argument of at "
                         "most " +
                         std::to_string(kMaxScriptBytes) + " bytes");
    }
    RTFS_TRY(Command c, locate(interp->program, "interpreter for " + s.language));
    c.argv = script_argv(*interp, c.program, s.source, args);
    c.runtime_dirs = interpreter_runtime(c.program);
    return c;
}

Result rtfs_guest(const RtfsSource& r, const ExecutionContext& ctx) {
    auto runner = guest::find_guest_runner();
    if (!runner) {
        return error(CommandError::Kind::SetupError,
                     "RTFS guest runner unavailable: " + runner.error().message);
    }
    RTFS_TRY(Command c, locate(*runner, "RTFS guest runner"));
    c.argv = {c.program};
    c.stdin_data = guest::exec_frame(guest::job_for(r, ctx));
    c.result_channel = true;
    return c;
}

}  // namespace

rtfs::Expected<std::string, CommandError> locate_program(const std::string& name, const std::string& path_var,
                                                        const std::string& what) {
    std::string path;
    if (name.empty()) return error(CommandError::Kind::InvalidInput, "empty program path");
    if (name.find('\0') != std::string::npos) {
        return error(CommandError::Kind::InvalidInput, "program path contains a NUL byte");
    }
    if (name.front() == '/') {
        path = name;
    } else if (name.find('/') != std::string::npos) {
        return error(CommandError::Kind::InvalidInput,
                     "program path '" + name + "' must be absolute or a bare command name");
    } else {
        path = find_in_dirs(name, path_dirs(path_var));
        if (path.empty()) {
            return error(CommandError::Kind::NotFound, what + " '" + name + "' not found in " + path_var);
        }
    }
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
        return error(CommandError::Kind::NotFound, what + " '" + path + "' does not exist");
    }
    // Mode bits, not access(): root's access(X_OK) ignores them, the sandbox user does not.
    if (!S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0) {
        return error(CommandError::Kind::NotExecutable,
                     what + " '" + path + "' is not an executable file" +
                         (S_ISDIR(st.st_mode) ? " (it is a directory)" : ""));
    }
    return path;
}

CommandFailure failure_of(const CommandError& e) {
    switch (e.kind) {
        case CommandError::Kind::NotFound: return {Reason::ProgramNotFound, 127};
        case CommandError::Kind::NotExecutable: return {Reason::NotExecutable, 126};
        case CommandError::Kind::InvalidInput: return {Reason::InvalidProgram, {}};
        case CommandError::Kind::SetupError: break;
    }
    return {Reason::SetupError, {}};
}

Expected<std::vector<std::string>> sandbox_environment(const MicroVMConfig& config) {
    std::vector<std::string> env;
    if (!config.env_vars.count("PATH")) env.push_back(std::string("PATH=") + kSandboxPath);
    for (const auto& [key, value] : config.env_vars) {
        if (key.empty() || key.find('=') != std::string::npos ||
            key.find('\0') != std::string::npos || value.find('\0') != std::string::npos) {
            return fail(Failure::Kind::InvalidInput,
                        "env_vars: '" + key + "' is not a valid variable name or has a NUL byte");
        }
        env.push_back(key + "=" + value);
    }
    return env;
}

Result command_for(const ExecutionContext& ctx) {
    if (!ctx.program) return error(CommandError::Kind::InvalidInput, "no program to run");
    const Program& p = *ctx.program;
    if (auto* e = std::get_if<ExternalProgram>(&p)) return external(*e);
    if (auto* s = std::get_if<ScriptSource>(&p)) return script(*s, ctx.args);
    if (auto* r = std::get_if<RtfsSource>(&p)) return rtfs_guest(*r, ctx);
    return error(
        CommandError::Kind::InvalidInput,
        std::string("the process provider does not run ") + to_string(kind_of(p)) + " programs");
}

}  // namespace microvm::host
