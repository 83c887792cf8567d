#include "microvm/wasm/engine_main.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "engine_process.hpp"
#include "engine_limits.hpp"
#include "engine_report.hpp"
#include "engine_request.hpp"
#include "fd_table.hpp"
#include "module_codec.hpp"
#include "module_compiler.hpp"
#include "host/landlock_private.hpp"
#include "host/private_files.hpp"
#include "microvm/errors.hpp"
#include "rtfs/host/curl_library.hpp"

namespace microvm::wasm {
namespace {

RunOutcome refused(Reason reason, std::string message) {
    RunOutcome outcome;
    outcome.failure = reason;
    outcome.error_message = std::move(message);
    return outcome;
}

// Landlock rules on the preopens as opened and checked (open_preopens), never on their paths
// again: a policy path the checks refuse (/, /proc, a writable one holding trusted state) is in
// no rule, and one replaced by a symlink since its check is not followed (red team, 2026-12-07).
void add_preopen_rules(FdTable& table, host::ChildRules& rules) {
    for (uint32_t fd = 0; fd < limits::kMaxOpenFiles; ++fd) {
        const FdEntry* e = table.get(fd);
        if (!e || e->kind != FdKind::Directory) continue;
        rules.paths.push_back({e->preopen_name,
                               e->read_only_tree ? host::landlock::Access::Read : host::landlock::Access::ReadWrite,
                               e->host.get()});
    }
}

// Every rule split around the files the host keeps private (host/landlock_private.hpp): the
// engine's own check keeps them from the module, this from an engine its module took over.
// held: the descriptors the new rules are on, open until the confinement.
Expected<void> keep_private_out_of_rules(host::ChildRules& rules, std::vector<UniqueFd>& held) {
    RTFS_TRY(host::PrivateAwareRules split, host::rules_keeping_private(rules.paths, host::kept_private_paths()));
    rules.paths = std::move(split.rules);
    held = std::move(split.held);
    return Ok{};
}

[[noreturn]] void compile(const EngineRequest& q) {
    host::serve_confined_child(engine_rules(q), nullptr, [&q](host::ChildChannel&) -> std::string {
        auto compiled = compile_module(std::span(reinterpret_cast<const uint8_t*>(q.source.data()), q.source.size()));
        if (!compiled) return kCompileInvalid + compiled.error().message.substr(0, kMaxReportMessage);
        auto encoded = encode_module(**compiled, kEngineCodecKey);
        if (!encoded || encoded->size() > q.max_compiled) return std::string(1, kCompileNotCarried);
        return kCompileDone + *encoded;
    }, q.max_compiled + 1);
}

// The module's file table from the preopens the host opened and judged (EngineRequest::Preopen),
// passed from host::kChildFirstPassedFd on; InvalidInput when they do not make the table the host
// described.
Expected<FdTable> passed_preopens(const EngineRequest& q) {
    FdTable table(q.run.result_sink);
    int passed = host::kChildFirstPassedFd;
    for (const EngineRequest::Preopen& p : q.preopens) {
        FdEntry e;
        e.kind = FdKind::Directory;
        e.host = UniqueFd(passed++);
        e.rights_base = p.rights_base;
        e.rights_inheriting = p.rights_inheriting;
        e.preopen_name = p.name;
        e.read_only_tree = p.read_only_tree;
        if (table.add(std::move(e)) != p.guest_fd) {
            return fail(Failure::Kind::InvalidInput, "the host's preopens do not make its file table");
        }
    }
    return table;
}

[[noreturn]] void run(EngineRequest& q) {
    // Before the confinement: the host's private files kept private here too (the module reaches
    // files as this process), libcurl loaded while its libraries are in the loader's usual reach.
    std::optional<Expected<FdTable>> preopens;
    std::vector<UniqueFd> held;
    auto prepare = [&](host::ChildRules& rules) {
        for (const std::string& path : q.kept_private) host::keep_private(path);
        if (q.config.network_policy.kind != NetworkPolicy::Kind::Denied) (void)rtfs::host::curl_library();
        preopens.emplace(passed_preopens(q));
        if (*preopens && !rules.files_unrestricted) {
            add_preopen_rules(**preopens, rules);
            auto kept_out = keep_private_out_of_rules(rules, held);
            if (!kept_out) {
                rules.paths.clear();  // confined to nothing; the body then refuses the run
                preopens.emplace(rtfs::unexpected(std::move(kept_out).error()));
            }
        }
    };
    auto body = [&](host::ChildChannel& channel) -> std::string {
        held.clear();  // the rules are made: the module's descriptors are its own
        RunRequest& inside = q.run;
        if (!inside.http_proxy.empty()) inside.proxy_socket = [&channel] { return channel.request_socket(); };
        inside.on_output = [&channel](OutputStream stream, std::string_view chunk) {
            const uint8_t tag = stream == OutputStream::Stdout ? kEngineStdoutTag : kEngineStderrTag;
            while (!chunk.empty()) {
                const size_t n = std::min(chunk.size(), host::ChildChannel::kMaxMessage);
                channel.send(tag, chunk.substr(0, n));
                chunk.remove_prefix(n);
            }
        };
        if (!*preopens) return encode_report(refused(Reason::SetupError, preopens->error().message));
        std::shared_ptr<const CompiledModule> module;
        if (!q.compiled.empty()) {
            module = decode_module(q.compiled, kEngineCodecKey);
            if (!module) return encode_report(refused(Reason::InvalidProgram, "the compiled module did not decode"));
        } else {
            auto compiled =
                compile_module(std::span(reinterpret_cast<const uint8_t*>(q.source.data()), q.source.size()));
            if (!compiled) return encode_report(refused(Reason::InvalidProgram, compiled.error().message));
            module = std::move(*compiled);
        }
        // Decoding (or compiling) a large module takes time of its own; none is spent
        // instantiating it once the deadline has passed.
        if (inside.deadline && std::chrono::steady_clock::now() >= *inside.deadline) {
            return encode_report(refused(Reason::Timeout, reason_message(Reason::Timeout, q.config)));
        }
        return encode_report(run_module(*module, q.config, inside, std::move(*preopens)));
    };
    // The result, the records (at most 1024 of three texts of 4 KiB), the message.
    host::serve_confined_child(engine_rules(q), prepare, body, q.run.result_cap + (16u << 20));
}

}  // namespace

int engine_main(int argc, char** argv) {
    if (argc != 2 || std::string_view(argv[1]) != kEngineArgument) {
        std::fprintf(stderr,
                     "microvm-wasm-engine: the wasm provider's engine, run by it in a confined child "
                     "for each module; not a command\n");
        return 2;
    }
    std::optional<std::string> input = host::read_confined_input(kMaxEngineRequest);
    std::optional<EngineRequest> request;
    if (input) request = decode_engine_request(*input);
    if (!request) return 1;  // the host's failure: a child without a report
    input.reset();
    if (request->mode == EngineRequest::Mode::Compile) compile(*request);
    run(*request);
}

}  // namespace microvm::wasm
