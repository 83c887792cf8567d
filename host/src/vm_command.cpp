#include "host/vm_command.hpp"

#include "microvm/guest_run.hpp"
#include "microvm/script_languages.hpp"

namespace microvm::host {

rtfs::Expected<Command, CommandError> command_in_image(const ExecutionContext& ctx) {
    auto error = [](CommandError::Kind k, std::string m) {
        return rtfs::Expected<Command, CommandError>(rtfs::unexpected(CommandError{k, std::move(m)}));
    };
    if (!ctx.program) return error(CommandError::Kind::InvalidInput, "no program to run");
    Command c;
    if (auto* e = std::get_if<ExternalProgram>(&*ctx.program)) {
        if (e->path.empty()) return error(CommandError::Kind::InvalidInput, "empty program path");
        c.program = e->path;
        c.argv = {e->path};
        c.argv.insert(c.argv.end(), e->args.begin(), e->args.end());
        return c;
    }
    if (auto* s = std::get_if<ScriptSource>(&*ctx.program)) {
        const ScriptInterpreter* interp = script_interpreter(s->language);
        if (!interp) {
            return error(CommandError::Kind::InvalidInput,
                         "unknown script language '" + s->language + "'");
        }
        c.program = interp->program;
        c.argv = script_argv(*interp, interp->program, s->source, ctx.args);
        return c;
    }
    if (auto* r = std::get_if<RtfsSource>(&*ctx.program)) {
        c.program = kVmAgentPath;
        c.argv = {c.program};
        c.stdin_data = guest::exec_frame(guest::job_for(*r, ctx));
        c.result_channel = true;
        return c;
    }
    return error(CommandError::Kind::InvalidInput,
                 std::string("a VM provider does not run ") + to_string(kind_of(*ctx.program)) +
                     " programs");
}

}  // namespace microvm::host
