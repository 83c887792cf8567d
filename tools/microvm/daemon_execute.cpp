#include "daemon_execute.hpp"

#include <unistd.h>

#include <algorithm>
#include <iostream>

#include "daemon_client.hpp"
#include "host/unique_fd.hpp"
#include "interrupt.hpp"
#include "microvm/base64.hpp"
#include "microvm/errors.hpp"
#include "microvm/json_output.hpp"
#include "microvm/security_level.hpp"
#include "microvm/utf8.hpp"
#include "report.hpp"

namespace microvm::cli {

namespace {

using nlohmann::json;

// The NDJSON events of a streamed execution (docs/service.md): output passed through as it
// comes, the result kept.
class EventReader {
  public:
    void feed(std::string_view piece) {
        // An event line is bounded by the daemon's output caps; one without an end in sight is
        // a broken or hostile daemon's, and is dropped up to its end (the run then ends without
        // a result, which says so).
        while (!piece.empty()) {
            const size_t nl = piece.find('\n');
            const std::string_view part = piece.substr(0, nl);
            if (!dropping_ && pending_.size() + part.size() > kMaxResultBytes) {
                dropping_ = true;
                dropped_line_ = true;
                std::string().swap(pending_);
            }
            if (!dropping_) pending_.append(part);
            if (nl == std::string_view::npos) return;
            // Only the new bytes are searched for the line's end: a long line arriving in many
            // pieces costs its length, not its length times the pieces.
            if (!dropping_) handle(pending_);
            pending_.clear();
            dropping_ = false;
            piece.remove_prefix(nl + 1);
        }
    }
    std::optional<json>& result() { return result_; }
    bool dropped_line() const { return dropped_line_; }

  private:
    void handle(std::string_view line) {
        json e = json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (!e.is_object() || !e.contains("event") || !e["event"].is_string()) return;
        const std::string event = e["event"].get<std::string>();
        if ((event == "stdout" || event == "stderr") && e.contains("data") && e["data"].is_string()) {
            const std::string& data = e["data"].get_ref<const std::string&>();
            // The exact bytes when the chunk was not UTF-8 (the text has U+FFFD for them).
            std::optional<std::string> exact;
            if (auto b = e.find("base64"); b != e.end() && b->is_string()) exact = base64_decode(b->get_ref<const std::string&>());
            write_passthrough(event == "stdout" ? OutputStream::Stdout : OutputStream::Stderr, exact ? *exact : data);
            printed_[event == "stdout" ? 0 : 1] += data.size();
        } else if (event == "stream_cut") {
            cut_ = true;
        } else if (event == "result" && e.contains("result")) {
            result_ = std::move(e["result"]);
            if (cut_) print_rest();
        }
    }
    // The daemon cut the stream past the deadline (this reader fell behind): the rest of each
    // stream comes from the result, which holds the whole output.
    void print_rest() const {
        for (int i = 0; i < 2; ++i) {
            const char* key = i == 0 ? "stdout" : "stderr";
            if (!result_->is_object() || !result_->contains(key) || !(*result_)[key].is_string()) continue;
            const std::string& all = (*result_)[key].get_ref<const std::string&>();
            if (printed_[i] < all.size())
                write_passthrough(i == 0 ? OutputStream::Stdout : OutputStream::Stderr, std::string_view(all).substr(printed_[i]));
        }
    }
    size_t printed_[2] = {0, 0};  // of each stream's text: offsets into the result's (print_rest)
    bool cut_ = false;
    std::string pending_;
    bool dropping_ = false;     // inside a line over the limit
    bool dropped_line_ = false;
    std::optional<json> result_;
};

// What the daemon said in an error reply: its code and message (docs/service.md, API).
std::pair<std::string, std::string> api_error(const DaemonReply& reply) {
    json j = json::parse(reply.body, nullptr, false);
    if (j.is_object() && j.contains("error") && j["error"].is_object()) {
        const json& e = j["error"];
        if (e.contains("code") && e["code"].is_string() && e.contains("message") && e["message"].is_string())
            return {e["code"].get<std::string>(), e["message"].get<std::string>()};
    }
    std::string text = reply.body.substr(0, 200);
    return {"http_" + std::to_string(reply.status),
            "the daemon answered HTTP " + std::to_string(reply.status) + (text.empty() ? "" : ": " + text)};
}

// Whether every text in v (object keys too) is UTF-8.
bool all_utf8(const json& v) {
    if (v.is_string()) return is_valid_utf8(v.get_ref<const std::string&>());
    if (v.is_array()) return std::all_of(v.begin(), v.end(), [](const json& e) { return all_utf8(e); });
    if (v.is_object()) {
        for (const auto& [key, value] : v.items()) {
            if (!is_valid_utf8(key) || !all_utf8(value)) return false;
        }
    }
    return true;
}

}  // namespace

Expected<json> execution_body(const PolicyFlags& f, const Program& program) {
    RTFS_CHECK(check_given(f));
    if (f.config_file || f.profile)
        return fail(Failure::Kind::InvalidConfig,
                    std::string(f.config_file ? "--config" : "--profile") +
                        ": the daemon's settings apply to executions sent to it (--daemon); give "
                        "the policy with flags");
    MicroVMConfig c;
    RTFS_CHECK(apply_policy_flags(f, c));
    RTFS_CHECK(runtime_context_for(f.security, f.allow, "--security", "--allow"));

    json body = json::object();
    if (const auto* rtfs = std::get_if<RtfsSource>(&program)) {
        body["eval"] = rtfs->source;
    } else if (const auto* ext = std::get_if<ExternalProgram>(&program)) {
        json argv = json::array({ext->path});
        for (const auto& a : ext->args) argv.push_back(a);
        body["run"] = std::move(argv);
    } else {
        return fail(Failure::Kind::InvalidConfig, "--daemon runs eval and run only");
    }
    if (f.provider) body["provider"] = *f.provider;
    if (f.timeout) body["timeout"] = *f.timeout;
    if (f.memory) body["memory_limit_mb"] = c.memory_limit_mb;
    if (f.cpu) body["cpu_limit"] = c.cpu_limit;
    if (f.net) body["network_policy"] = c.network_policy.to_string();
    if (!f.fs.empty()) body["fs_policy"] = c.fs_policy.to_string();  // several --fs combined
    if (!f.env.empty()) {
        json env = json::object();
        for (const auto& [key, value] : c.env_vars) env[key] = value;  // --env KEY resolved here
        body["env_vars"] = std::move(env);
    }
    if (f.security) body["security_level"] = *f.security;
    if (!f.allow.empty()) body["capabilities"] = f.allow;
    if (f.capability) body["capability"] = *f.capability;
    // The daemon's API is JSON, which carries text: a source, an argument or a value that is not
    // UTF-8 is a usage error naming it (it was an exception, setup_error; a review, 2026-12-06).
    for (const auto& [key, value] : body.items()) {
        if (!all_utf8(value))
            return fail(Failure::Kind::InvalidInput, "--daemon: the " + key + " given holds bytes that are not UTF-8, "
                                                     "which the daemon's API (JSON text) cannot carry; run it locally");
    }
    return body;
}

int cmd_execute_remote(const DaemonOptions& daemon, const PolicyFlags& flags,
                       const Program& program, bool is_eval) {
    CancelSource cancel;
    InterruptCanceller interrupts(cancel);  // Ctrl-C closes the connection: the daemon cancels

    // The daemon could not run it: reported as the local CLI reports a provider that cannot
    // start (a result with status unavailable under --json), exit status 125.
    auto unavailable = [&](const std::string& kind, const std::string& message) {
        if (flags.json) {
            ExecutionResult r;
            r.metadata.provider = flags.provider.value_or("");
            set_error(r, Reason::Unavailable, message, kind);
            print_result_json(r);
        } else {
            print_error(kind, message);
        }
        return kExitSetup;
    };

    auto body = execution_body(flags, program);
    if (!body) {
        print_error(to_string(body.error().kind), body.error().message);
        return exit_for_failure(body.error());
    }
    DaemonConnection conn;
    auto address = parse_daemon_address(daemon.address);
    if (!address) {
        print_error(to_string(address.error().kind), address.error().message);
        return kExitUsage;
    }
    conn.address = std::move(*address);
    conn.ca_file = daemon.ca_file;
    if (daemon.token_file && conn.address.cleartext_off_host) {
        print_error(to_string(Failure::Kind::InvalidConfig), "--daemon " + conn.address.text +
                                         ": a token is never sent over plain http to another host "
                                         "(use https://, or a loopback address through an SSH tunnel)");
        return kExitUsage;
    }
    if (daemon.token_file) {
        auto token = read_token_file(*daemon.token_file);
        if (!token) {
            print_error(to_string(token.error().kind), token.error().message);
            return kExitUsage;
        }
        conn.token = std::move(*token);
    }

    // Plain output streams the program's output as it is written; --json prints one document.
    const bool stream = !flags.json;
    if (stream) (*body)["stream"] = true;
    EventReader events;
    std::function<void(std::string_view)> on_piece;
    if (stream) on_piece = [&](std::string_view piece) { events.feed(piece); };
    auto reply = post_json(conn, "/v1/executions", body->dump(), cancel.token(), on_piece);

    std::optional<json> doc;
    if (!reply) {
        if (reply.error().why != DaemonFailure::Why::Cancelled) return unavailable("daemon", reply.error().message);
        // Cancelled here: the connection closed, and the daemon cancels the execution with it.
        ExecutionResult r;
        r.metadata.provider = flags.provider.value_or("");
        set_error(r, Reason::Cancelled, reason_message(Reason::Cancelled, MicroVMConfig{}));
        if (flags.json) {
            print_result_json(r);
            return exit_status_for(r, is_eval);
        }
        return report_plain(r, is_eval, std::nullopt);
    }
    if (reply->status != 200) {
        auto [code, message] = api_error(*reply);
        if (reply->status == 401)
            message += conn.token ? " (the daemon refused the token of " + *daemon.token_file + ")"
                                  : " (give the daemon's token with --token-file FILE or $MICROVM_TOKEN_FILE)";
        if (reply->status == 429 && !reply->retry_after.empty())
            message += " (Retry-After: " + reply->retry_after + " s)";
        // The request was wrong (a value the daemon refused, a program over its size limit): a
        // usage error, as locally. Anything else means the daemon could not run it.
        if ((reply->status == 400 && code != "unknown_provider") || reply->status == 413) {
            print_error(code, message);
            return kExitUsage;
        }
        return unavailable(code, message);
    }
    if (stream) {
        doc = std::move(events.result());
        if (!doc) {
            return unavailable("daemon", events.dropped_line()
                                             ? "an event of the daemon's stream exceeded " +
                                                   std::to_string(kMaxResultBytes) + " bytes"
                                             : "the daemon's event stream ended without a result");
        }
    } else {
        json j = json::parse(reply->body, nullptr, false);
        if (j.is_discarded()) return unavailable("daemon", "the daemon's answer is not JSON");
        doc = std::move(j);
    }
    auto r = result_from_json(*doc);
    if (!r) return unavailable("daemon", r.error().message);
    if (flags.json) {
        // Written again from the result read back: the local CLI's key order and number forms,
        // whatever order the daemon's JSON writer gave the keys.
        print_result_json(*r);
        return exit_status_for(*r, is_eval);
    }
    return report_plain(*r, is_eval, std::nullopt);
}

}  // namespace microvm::cli
