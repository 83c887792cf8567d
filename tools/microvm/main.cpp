// microvm: run programs inside isolation providers under a per-execution policy.
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <iostream>
#include <new>
#include <string_view>
#include <system_error>

#include "bench.hpp"
#include "commands.hpp"
#include "report.hpp"
#include "daemon_execute.hpp"
#include "host/deferred_teardown.hpp"
#include "host/unique_fd.hpp"
#include "microvm/agent_frame.hpp"
#include "microvm/json_output.hpp"
#include "microvm/wasm_module_limit.hpp"

namespace {

using microvm::cli::PolicyFlags;

void add_policy_flags(CLI::App* app, PolicyFlags& f) {
    app->add_option("-p,--provider", f.provider, "Isolation provider (see `microvm providers`)");
    app->add_option("--timeout", f.timeout, "Wall-clock limit, e.g. 500ms, 30s");
    app->add_option("--memory", f.memory, "Memory limit in MiB");
    app->add_option("--cpu", f.cpu, "CPU share: 1.0 = one core, 0.25 = a quarter");
    app->add_option("--net", f.net, "deny | full | allow=HOST[,HOST...] | block=HOST[,HOST...]");
    app->add_option("--fs", f.fs,
                    "none | ro[=PATH[:PATH...]] | rw=PATH[:PATH...] | full; a ro and a rw may be "
                    "given together (repeat --fs)")
        ->allow_extra_args(false);
    // One value per occurrence, so that a following EXPR is not taken as another value.
    app->add_option("--env", f.env, "KEY=VALUE visible to the program, or KEY to pass this environment's value (keeps a secret out of the command line, which every local user can read; repeatable)")
        ->allow_extra_args(false);
    app->add_option("--security", f.security, "RTFS runtime context: pure | controlled | full");
    app->add_option("--allow", f.allow, "Allowed capability id (repeatable)")
        ->allow_extra_args(false);
    app->add_option("--capability", f.capability,
                    "Run as this capability: its [capability_configs.\"ID\"] settings apply; it "
                    "must also be given with --allow");
    app->add_option("--config", f.config_file, "Settings file (TOML)");
    app->add_option("--profile", f.profile, "Settings profile: dev | test | prod | ...");
    app->add_flag("--json", f.json, "Print one JSON object describing the execution");
}

// A set, non-empty environment variable.
std::optional<std::string> env_value(const char* name) {
    const char* v = std::getenv(name);
    return v && *v ? std::optional<std::string>(v) : std::nullopt;
}

// An RTFS program travels to its sandbox in one frame of the guest protocol: no more than that is
// read of a source file or standard input (/dev/zero would otherwise fill the memory).
constexpr size_t kMaxSourceBytes = microvm::agent::kMaxFrameBytes;

std::optional<std::string> read_source(int fd) { return microvm::host::read_to_end(fd, kMaxSourceBytes); }

// A source file, opened without waiting for a FIFO's writer: a named FIFO (one a sandbox could
// have left where a source file was expected) would hold the CLI in open(2) before any timeout
// applies, so it is refused; an anonymous pipe (-f <(...), /dev/fd/N) is read as any file.
microvm::host::UniqueFd open_source_file(const std::string& path, std::string& why) {
    microvm::host::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    struct stat st {};
    struct statfs fs {};
    if (!fd.valid() || ::fstat(fd.get(), &st) != 0) {
        why = "";
        return {};
    }
    if (S_ISFIFO(st.st_mode) &&
        (::fstatfs(fd.get(), &fs) != 0 || static_cast<unsigned long>(fs.f_type) != PIPEFS_MAGIC)) {
        why = ": it is a named FIFO, which could hold the CLI before any timeout (give its "
              "contents on standard input: -)";
        return {};
    }
    const int flags = ::fcntl(fd.get(), F_GETFL);
    if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
        why = "";
        return {};
    }
    return fd;
}

std::string source_limit_note() {
    return ": a read failed or it is over " + std::to_string(kMaxSourceBytes) + " bytes, the most an RTFS program may be";
}

// The subcommand this command line invokes, when it can be told before parsing: the first
// word that is not an option (nor the value of a top-level option) names one. Only that
// subcommand's options are then declared: declaring every subcommand's (about 50 CLI11 options)
// took longer than parsing and a third of a one-shot run's own start. Empty (declare all): no
// subcommand, an unknown word, or `--` first; CLI11 then reports as it always did.
std::string_view invoked_subcommand(int argc, char** argv) {
    static constexpr std::string_view kSubcommands[] = {"providers", "eval", "run", "wasm", "bench"};
    static constexpr std::string_view kValued[] = {"--daemon", "--token-file", "--daemon-ca"};
    for (int i = 1; i < argc; ++i) {
        const std::string_view word = argv[i];
        if (word == "--") return {};
        if (!word.empty() && word.front() == '-') {
            for (std::string_view valued : kValued) {
                if (word == valued) ++i;  // its value is not a subcommand
            }
            continue;
        }
        for (std::string_view sub : kSubcommands) {
            if (word == sub) return sub;
        }
        return {};
    }
    return {};
}

// eval's program: EXPR, -f FILE or - (standard input). False, having said why, when none can
// be read.
bool read_eval_source(const std::string& expr, const std::string& file, std::string& source) {
    if (!file.empty()) {
        if (!expr.empty()) {
            microvm::cli::print_error("usage", "give either EXPR or -f FILE, not both");
            return false;
        }
        // The read stops at the limit whatever the file is.
        std::string why;
        microvm::host::UniqueFd in = open_source_file(file, why);
        auto read = in.valid() ? read_source(in.get()) : std::nullopt;
        if (!read) {
            // The path is the operator's, but a glob may have picked a name a sandbox made.
            microvm::cli::print_error("usage", "cannot read " + file + (in.valid() ? source_limit_note() : why));
            return false;
        }
        source = std::move(*read);
    } else if (expr == "-") {
        auto read = read_source(STDIN_FILENO);
        if (!read) {
            microvm::cli::print_error("usage", "cannot read standard input" + source_limit_note());
            return false;
        }
        source = std::move(*read);
    } else if (!expr.empty()) {
        source = expr;
    } else {
        microvm::cli::print_error("usage", "microvm eval [options] (EXPR | -f FILE | -)");
        return false;
    }
    return true;
}

// `microvm wasm MODULE [ARGS...]`: only a regular file, and no more of it than the engine
// accepts (/dev/zero or a FIFO would otherwise be read until memory ran out, or forever).
int run_wasm_module(const std::string& module_path, PolicyFlags flags, std::vector<std::string> args) {
    auto module_fd = microvm::host::open_regular_file(module_path);
    if (!module_fd) {
        microvm::cli::print_error("usage", module_fd.error().message);
        return microvm::kExitUsage;
    }
    constexpr size_t kMaxModule = microvm::kMaxWasmModuleBytes;
    std::optional<std::string> read = microvm::host::read_to_end(module_fd->get(), kMaxModule);
    if (!read) {
        microvm::cli::print_error("usage", "cannot read " + module_path + ": a read failed or it is over " +
                                               std::to_string(kMaxModule) + " bytes, the most a wasm module may be");
        return microvm::kExitUsage;
    }
    std::string bytes = std::move(*read);
    if (!flags.provider) flags.provider = "wasm";
    return microvm::cli::cmd_execute(flags, microvm::WasmModule{{bytes.begin(), bytes.end()}}, std::move(args), false);
}

void add_bench_flags(CLI::App* bench, microvm::cli::BenchOptions& o) {
    bench->add_option("-n,--runs", o.runs, "Samples per row (default 20)");
    bench->add_option("--row-budget", o.row_budget_s,
                      "Seconds a row may spend before it stops sampling; a longer run is killed (1-3600, default 30)");
    bench->add_option("--compute-ms", o.compute_ms, "CPU time of the compute job in plain RTFS and python3 (up to 10000, default 100)");
    bench->add_option("-p,--provider", o.providers, "Only this provider (repeatable)")->allow_extra_args(false);
    bench->add_flag("!--no-peers", o.peers, "Do not measure bwrap, runsc do, srt, python3");
    bench->add_flag("--json", o.json, "JSON output");
    bench->add_option("--svg", o.svg_file, "Also draw a bar chart (log scale) to FILE");
    bench->add_option("--daemon-rows", o.daemon,
                      "Also each provider's eval and run rows through microvmd at ADDRESS (as --daemon takes it)");
}

}  // namespace

static int cli_main(int argc, char** argv) {
    // Answered before any parser is built: CLI11 reports --version by throwing, and unwinding
    // costs more than the rest of the program's start (the flag stays declared below for --help).
    if (argc == 2 && std::string_view(argv[1]) == "--version") {
        std::printf("microvm %s\n", MICROVM_VERSION);
        return 0;
    }
    // One execution per process: its sandbox is torn down on this thread, not a thread started
    // for it (the process waits for it before exiting either way).
    microvm::host::DeferredTeardown::tear_down_on_callers_thread();
    CLI::App app{"microvm: run programs inside isolation providers under an enforced policy"};
    app.set_version_flag("--version", std::string("microvm ") + MICROVM_VERSION);
    app.require_subcommand(1);
    app.fallthrough();  // --daemon and its options may also follow eval/run
    const std::string_view invoked = invoked_subcommand(argc, argv);
    auto declares = [&](std::string_view sub) { return invoked.empty() || invoked == sub; };

    std::optional<std::string> daemon_flag, token_file, daemon_ca;
    app.add_option("--daemon", daemon_flag,
                   "Send eval/run to microvmd: unix:PATH | http://HOST:PORT | https://HOST:PORT "
                   "(default: $MICROVM_DAEMON)");
    app.add_option("--token-file", token_file,
                   "The daemon's bearer token (TCP), as in microvmd's token file (default: "
                   "$MICROVM_TOKEN_FILE)");
    app.add_option("--daemon-ca", daemon_ca, "https: the CA certificates the daemon's is checked against");

    bool providers_json = false;
    auto* providers = app.add_subcommand("providers", "List providers and their availability");
    if (declares("providers")) providers->add_flag("--json", providers_json, "JSON output");

    PolicyFlags eval_flags;
    std::string expr, eval_file;
    auto* eval = app.add_subcommand("eval", "Evaluate RTFS source");
    if (declares("eval")) {
        add_policy_flags(eval, eval_flags);
        eval->add_option("-f,--file", eval_file, "Read the program from a file");
        eval->add_option("expr", expr, "RTFS expression, or - for standard input");
    }

    PolicyFlags run_flags;
    std::vector<std::string> command;
    auto* run = app.add_subcommand("run", "Run an external program: microvm run [options] -- PROGRAM [ARGS...]");
    if (declares("run")) {
        add_policy_flags(run, run_flags);
        run->add_option("command", command, "Program and arguments")->required();
    }

    PolicyFlags wasm_flags;
    std::string module_path;
    std::vector<std::string> wasm_args;
    auto* wasm = app.add_subcommand("wasm", "Run a WebAssembly module (WASI _start)");
    if (declares("wasm")) {
        add_policy_flags(wasm, wasm_flags);
        wasm->add_option("module", module_path, "MODULE.wasm or MODULE.wat")->required();
        wasm->add_option("args", wasm_args, "Arguments for the module");
    }

    microvm::cli::BenchOptions bench_opts;
    auto* bench = app.add_subcommand(
        "bench", "Measure one-shot latency of each available provider and of installed peers");
    if (declares("bench")) add_bench_flags(bench, bench_opts);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return microvm::kExitUsage;
    }

    // --daemon names where eval and run go; $MICROVM_DAEMON does the same for those two only, so
    // that `providers`, `bench` and `wasm` stay local when it is set in a shell.
    if (daemon_flag && !*eval && !*run) {
        std::cerr << "error: usage: --daemon applies to eval and run\n";
        return microvm::kExitUsage;
    }
    if ((token_file || daemon_ca) && !daemon_flag && !env_value("MICROVM_DAEMON")) {
        std::cerr << "error: usage: " << (token_file ? "--token-file" : "--daemon-ca")
                  << " is for --daemon\n";
        return microvm::kExitUsage;
    }
    std::optional<microvm::cli::DaemonOptions> daemon;
    if (auto address = daemon_flag ? daemon_flag : env_value("MICROVM_DAEMON")) {
        daemon = microvm::cli::DaemonOptions{*address, token_file ? token_file : env_value("MICROVM_TOKEN_FILE"),
                                             daemon_ca};
    }

    if (*providers) return microvm::cli::cmd_providers(providers_json);
    if (*bench) return microvm::cli::cmd_bench(bench_opts);

    if (*eval) {
        std::string source;
        if (!read_eval_source(expr, eval_file, source)) return microvm::kExitUsage;
        if (daemon)
            return microvm::cli::cmd_execute_remote(*daemon, eval_flags, microvm::RtfsSource{source}, true);
        return microvm::cli::cmd_execute(eval_flags, microvm::RtfsSource{source}, {}, true);
    }

    if (*run) {
        microvm::ExternalProgram prog{command[0], {command.begin() + 1, command.end()}};
        if (daemon) return microvm::cli::cmd_execute_remote(*daemon, run_flags, prog, false);
        return microvm::cli::cmd_execute(run_flags, std::move(prog), {}, false);
    }

    return run_wasm_module(module_path, std::move(wasm_flags), std::move(wasm_args));
}

// A host that cannot start a thread or allocate (a user whose pids.max is spent) gets an error
// and the setup status, not std::terminate's abort (red team, 2026-12-04).

int main(int argc, char** argv) {
    // The program's output to stderr landed in the eventfd that took a closed 2 (red team,
    // 2026-12-05). (/dev/null is never handed to runsc: its stdio are the provider's pipes.)
    microvm::host::open_closed_standard_descriptors();
    try {
        return cli_main(argc, argv);
    } catch (const std::system_error& e) {
        std::fprintf(stderr, "error: setup_error: %s\n", e.what());
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "error: setup_error: out of memory\n");
    } catch (const std::exception& e) {  // any other: an error and a status, never an abort
        microvm::cli::print_error("setup_error", e.what());
    }
    return microvm::kExitSetup;
}
