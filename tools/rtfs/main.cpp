// `rtfs`: evaluate RTFS programs from the command line.
//
//   rtfs eval '(+ 1 2)'                 rtfs run program.rtfs | rtfs run -
//   rtfs repl                           --security pure|controlled|full  --allow CAP
//   --json                              --timeout 500ms
#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "rtfs/host/duration_text.hpp"
#include "repl.hpp"
#include "report.hpp"
#include "session.hpp"

namespace {

using rtfs::RuntimeContext;
using rtfs::cli::kExitUsage;

constexpr int kExitNoInput = 66;  // sysexits' EX_NOINPUT: the program file cannot be read

struct Flags {
    std::string security;  // empty: not given
    std::vector<std::string> allow;
    bool json = false;
    std::string timeout;
    std::string expr;
    std::string file;
};

// The runtime context the flags ask for; --allow alone means controlled.
std::optional<RuntimeContext> runtime_context(const Flags& f, std::string* why) {
    if (f.security.empty())
        return f.allow.empty() ? RuntimeContext::pure() : RuntimeContext::controlled(f.allow);
    if (f.security == "full") return RuntimeContext::full();
    if (f.security == "controlled") return RuntimeContext::controlled(f.allow);
    if (!f.allow.empty()) {
        *why = "--allow cannot be combined with --security pure";
        return std::nullopt;
    }
    return RuntimeContext::pure();
}

std::optional<std::string> read_program(const std::string& path, std::string* why) {
    std::FILE* f = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
    if (!f) {
        *why = "cannot read " + path + ": " + std::generic_category().message(errno);
        return std::nullopt;
    }
    std::string text;
    char buf[64 * 1024];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
    const bool failed = std::ferror(f);
    const int err = errno;
    if (f != stdin) std::fclose(f);
    if (failed) {
        *why = "cannot read " + path + ": " + std::generic_category().message(err);
        return std::nullopt;
    }
    return text;
}

int usage_error(const std::string& message) {
    rtfs::cli::report_failure(message + "\nRun with --help for more information.");
    return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
    Flags flags;
    CLI::App app{"Evaluate RTFS programs.", "rtfs"};
    app.require_subcommand(1);
    app.fallthrough();  // the options below may also follow the subcommand
    app.add_option("--security", flags.security,
                   "Runtime context: pure (no capabilities, the default), controlled (only "
                   "--allow'ed ones) or full")
        ->check(CLI::IsMember({"pure", "controlled", "full"}));
    app.add_option("--allow", flags.allow,
                   "Allow capability CAP, e.g. ccos.io.println (repeatable; implies controlled)")
        ->type_name("CAP")
        ->allow_extra_args(false);
    app.add_flag("--json", flags.json, "Print one JSON object per evaluation");
    app.add_option("--timeout", flags.timeout, "Interrupt evaluation after this long (500ms, 30s)")
        ->type_name("DURATION");
    CLI::App* eval = app.add_subcommand("eval", "Evaluate an expression");
    eval->add_option("expr", flags.expr, "RTFS source")->required();
    CLI::App* run = app.add_subcommand("run", "Evaluate a file (- reads standard input)");
    run->add_option("file", flags.file, "FILE.rtfs or -")->required();
    CLI::App* repl = app.add_subcommand("repl", "Interactive session");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return app.exit(e);  // --help
        return usage_error(e.what());
    }

    std::string why;
    auto context = runtime_context(flags, &why);
    if (!context) return usage_error(why);
    std::optional<std::chrono::milliseconds> timeout;
    if (!flags.timeout.empty()) {
        auto parsed = rtfs::host::parse_duration(flags.timeout);
        if (!parsed) return usage_error("invalid --timeout '" + flags.timeout + "': " + parsed.error());
        // microvm's bound (MicroVMConfig's 24 h): a deadline now + timeout must not overflow.
        if (*parsed > std::chrono::hours(24)) {
            return usage_error("invalid --timeout '" + flags.timeout + "': at most 24h");
        }
        timeout = *parsed;
    }

    std::string source;
    if (*eval) {
        source = flags.expr;
    } else if (*run) {
        auto text = read_program(flags.file, &why);
        if (!text) {
            rtfs::cli::report_failure(why);
            return kExitNoInput;
        }
        source = std::move(*text);
    }

    rtfs::cli::Session session(
        {.security = *context, .timeout = timeout, .capture_output = flags.json});
    if (*repl) return rtfs::cli::run_repl(session, flags.json);
    const rtfs::cli::Outcome outcome = session.eval(source);
    rtfs::cli::report(outcome, flags.json);
    return rtfs::cli::exit_status(outcome, timeout.has_value());
}
