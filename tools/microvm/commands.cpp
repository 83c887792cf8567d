#include "commands.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include "host/huge_page_heap.hpp"
#include "host/output_relay.hpp"
#include "host/unique_fd.hpp"
#include "microvm/errors.hpp"
#include "microvm/factory.hpp"
#include "microvm/json_output.hpp"
#include "interrupt.hpp"
#include "progress.hpp"
#include "report.hpp"

namespace microvm::cli {

namespace {

constexpr std::chrono::seconds kCancelledDrain{2};

std::string runs_list(const std::vector<ProgramKind>& kinds) {
    std::string s;
    for (auto k : kinds) s += (s.empty() ? "" : ",") + std::string(to_string(k));
    return s;
}

}  // namespace

int cmd_providers(bool json) {
    ProviderFactory factory;
    auto infos = factory.list_providers();
    if (json) {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& i : infos)
            arr.push_back({{"name", i.name},
                           {"available", i.availability.available},
                           {"isolation", to_string(i.isolation)},
                           {"runs", runs_list(i.runs)},
                           {"reason", i.availability.reason}});
        std::cout << json_text(arr, 2) << "\n";
        return 0;
    }
    std::printf("%-12s %-10s %-10s %-26s %s\n", "NAME", "AVAILABLE", "ISOLATION", "RUNS", "REASON / NOTE");
    for (const auto& i : infos)
        std::printf("%-12s %-10s %-10s %-26s %s\n", i.name.c_str(),
                    i.availability.available ? "yes" : "no", to_string(i.isolation),
                    runs_list(i.runs).c_str(),
                    i.availability.reason.c_str());  // an available one may say how (qemu: KVM/TCG, image)
    return 0;
}

// What the wasm engine's large blocks of a run take: the stored module read in, its decoded
// instruction stream and the instance's copy (~2 MiB each), with room to spare.
constexpr size_t kInProcessHeapBytes = size_t{16} << 20;

int cmd_execute(const PolicyFlags& flags, Program program, std::vector<std::string> args,
                bool is_eval) {
    CancelSource cancel;
    InterruptCanceller interrupts(cancel);  // before the provider starts any thread
    auto inv = resolve(flags);
    if (!inv) {
        print_error(to_string(inv.error().kind), inv.error().message);
        return exit_for_failure(inv.error());
    }
    ProviderFactory factory;
    // Every [provider_configs.NAME] table of the settings, not only the one this run uses.
    if (auto checked = check_provider_configs(factory, inv->settings); !checked) {
        print_error(to_string(checked.error().kind), checked.error().message);
        return exit_for_failure(checked.error());
    }
    {
        Progress progress("initializing provider '" + inv->provider + "'");
        auto init = initialize_provider_from_settings(factory, inv->settings, inv->provider);
        if (!init) {
            if (flags.json) {
                ExecutionResult r;
                r.metadata.provider = inv->provider;
                set_error(r, Reason::Unavailable, init.error().message,
                          to_string(init.error().kind));
                print_result_json(r);
            } else {
                print_error(to_string(init.error().kind), init.error().message);
            }
            return kExitSetup;
        }
    }
    auto provider = factory.get_provider(inv->provider);
    if (!provider) {
        print_error(to_string(provider.error().kind), provider.error().message);
        return kExitSetup;
    }
    // A provider that runs the program in this process (RTFS on wasm) or in a fork of it that
    // inherits the advice (a wasm module), ending with the run: its large blocks on huge pages
    // (host/huge_page_heap.hpp).
    if ((*provider)->isolation() == Isolation::Wasm) host::place_heap_on_huge_pages(kInProcessHeapBytes);

    ExecutionContext ctx;
    ctx.execution_id = new_execution_id();
    ctx.program = std::move(program);
    ctx.args = std::move(args);
    ctx.config = inv->config;
    ctx.runtime_context = inv->runtime_context;
    ctx.capability_permissions = inv->capability_permissions;
    ctx.capability_id = inv->capability_id;
    ctx.cancel = cancel.token();
    // Plain output: the program's own output passes through as it comes, written by the relay's
    // thread: a reader of our stdout that stalls (a full pipe, a terminal stopped with Ctrl-S)
    // holds the capture loop, which enforces the deadline, only until the deadline or Ctrl-C.
    // A stream that fails (its reader gone) loses what is written to it, never the other's.
    std::optional<host::OutputRelay> relay;
    if (!flags.json) {
        relay.emplace([](OutputStream stream, const std::string& chunk) {
            write_passthrough(stream, chunk);
            return true;
        }, host::OutputRelay::Clock::now() + ctx.config.timeout, cancel.token());
        ctx.on_output = [&relay](OutputStream stream, std::string_view chunk) {
            relay->push(std::string(chunk), stream);
        };
    }

    ExecutionResult r = (*provider)->execute_program(ctx);
    factory.cleanup_all();

    if (flags.json) {
        print_result_json(r);
        return exit_status_for(r, is_eval);
    }
    relay->run_ended();
    if (cancel.cancelled()) {
        // Cancelled (Ctrl-C, SIGTERM) and the sandbox torn down: a reader that takes nothing
        // more within kCancelledDrain does not hold the CLI (a supervisor sends one TERM).
        const int status = exit_status_for(r, is_eval);
        relay->finish(host::OutputRelay::Clock::now() + kCancelledDrain, [status] { ::_exit(status); });
    }
    relay->finish();  // the output before the report, however long the operator's reader takes
    return report_plain(r, is_eval, ctx.config.max_output_bytes);
}

}  // namespace microvm::cli
