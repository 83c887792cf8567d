#include "microvm_imports.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "engine_limits.hpp"
#include "http_fetch.hpp"
#include "microvm/json_shape.hpp"
#include "wasi_abi.hpp"

namespace microvm::wasm {
namespace {

using nlohmann::json;
using wabt::interp::Values;

bool has_line_break(const std::string& s) {
    return s.find_first_of("\r\n") != std::string::npos;
}

constexpr int kMaxRequestDepth = 2;
constexpr size_t kMaxRequestValues = 4096;
// The request's text, body included: as large as the largest response (http_fetch.cpp). Judged
// before it is copied out of linear memory: a 1.5 GB request was copied, scanned, parsed and its
// body copied again in one host call, 5.9 GB of the host and 62 s past a 20 s timeout under
// --net deny (red team, 2026-12-05).
constexpr uint32_t kMaxRequestBytes = 16u << 20;

// The request JSON, or an error message.
Expected<HttpRequest> parse_request(std::string_view text) {
    auto bad = [](std::string why) { return fail(Failure::Kind::InvalidInput, std::move(why)); };
    // Judged by its shape before the parse, which is one host call the deadline cannot stop and
    // builds a tree far larger than the text, outside the module's memory limit: 30 million
    // nested brackets took 2.25 GB of the host and 13 s under --memory 64 --timeout 1s (red
    // team, 2026-12-04). A request is an object holding one object (the headers).
    const JsonShape shape = json_shape(text);
    if (shape.depth > kMaxRequestDepth) return bad("the request is nested too deeply");
    if (shape.values > kMaxRequestValues) return bad("the request has too many values");
    // No field is a number longer than a double's spelling: a 16 MiB one cost ~1 s and 147 MB
    // of the host in one call (review, 2026-12-06).
    if (shape.longest_token > 32) return bad("the request has a number longer than 32 characters");
    json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return bad("the request must be a JSON object");
    HttpRequest req;
    if (!j.contains("url") || !j["url"].is_string())
        return bad("the request needs a \"url\" string");
    req.url = j["url"].get<std::string>();
    if (j.contains("method")) {
        if (!j["method"].is_string()) return bad("\"method\" must be a string");
        req.method = j["method"].get<std::string>();
        bool token =
            !req.method.empty() && std::all_of(req.method.begin(), req.method.end(),
                                               [](char c) { return c >= 'A' && c <= 'Z'; });
        if (!token) return bad("\"method\" must be an upper-case HTTP method");
    }
    if (j.contains("headers")) {
        if (!j["headers"].is_object()) return bad("\"headers\" must be an object");
        for (const auto& [name, value] : j["headers"].items()) {
            if (!value.is_string()) return bad("header values must be strings");
            std::string v = value.get<std::string>();
            if (name.empty() || has_line_break(name) || has_line_break(v) ||
                name.find(':') != std::string::npos) {
                return bad("malformed header " + name);
            }
            req.headers.emplace_back(name, std::move(v));
        }
    }
    if (j.contains("body")) {
        if (!j["body"].is_string()) return bad("\"body\" must be a string");
        req.body = j["body"].get<std::string>();
    }
    return req;
}

// Keeps what fits in limit bytes and counts all: the text of a response is never built larger
// than the module could hold, whatever a binary body's escapes (six bytes each) make of it.
// nlohmann's own serializer, the one json::dump uses (its detail API), writes into it.
static_assert(NLOHMANN_JSON_VERSION_MAJOR == 3, "BoundedText uses nlohmann_json 3's serializer API");
class BoundedText final : public nlohmann::detail::output_adapter_protocol<char> {
  public:
    BoundedText(std::string& out, size_t limit) : out_(out), limit_(limit) {}
    void write_character(char c) override { write_characters(&c, 1); }
    void write_characters(const char* s, size_t n) override {
        total_ += n;
        if (total_ <= limit_) out_.append(s, n);
    }
    size_t total() const { return total_; }

  private:
    std::string& out_;
    size_t limit_;
    size_t total_ = 0;
};

// The JSON text of j, or nullopt when it is longer than limit bytes (total: its length).
std::optional<std::string> dump_within(const json& j, size_t limit, size_t& total) {
    std::string text;
    auto out = std::make_shared<BoundedText>(text, limit);
    // Bodies need not be UTF-8; invalid sequences become U+FFFD rather than failing the dump.
    nlohmann::detail::serializer<json>(out, ' ', json::error_handler_t::replace).dump(j, false, false, 0);
    total = out->total();
    if (total > limit) return std::nullopt;
    return text;
}

// Keeps the response for http_response_read and tells the guest its length.
uint32_t respond(RunState& s, const Values& p, uint32_t err, std::string text) {
    s.http_response = std::move(text);
    if (!s.mem().store<uint32_t>(u32_at(p, 2), static_cast<uint32_t>(s.http_response->size()))) {
        return wasi::kFault;
    }
    return err;
}

uint32_t respond(RunState& s, const Values& p, uint32_t err, const json& body) {
    return respond(s, p, err, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

// What the module's linear memory may hold at most: a response larger cannot be read into it.
size_t memory_cap_bytes(const RunState& s) { return static_cast<size_t>(s.memory_cap_pages) * 65536; }

void keep(RunState& s, const rtfs::NetworkRequest& record) {
    rtfs::record_bounded(s.network_requests, s.network_unrecorded, record);
}

uint32_t http_fetch(RunState& s, const Values& p) {
    if (u32_at(p, 1) > kMaxRequestBytes) {
        return respond(s, p, wasi::kInval,
                       {{"error", "the request is longer than " + std::to_string(kMaxRequestBytes) + " bytes"}});
    }
    auto text = s.mem().string(u32_at(p, 0), u32_at(p, 1));
    if (!text) return wasi::kFault;
    auto req = parse_request(*text);
    if (!req) return respond(s, p, wasi::kInval, {{"error", req.error().message}});

    rtfs::NetworkRequest record;
    record.url = req->url;
    record.method = req->method;
    // Under deny nothing is reached, so the URL is not even parsed: its parser is libcurl's,
    // which a module's engine process may not load under deny (engine_process.hpp).
    if (s.config.network_policy.kind == NetworkPolicy::Kind::Denied) {
        record.error = "denied by network policy deny";
        keep(s, record);
        return respond(s, p, wasi::kNotcapable, {{"error", record.error}});
    }
    auto url = parse_http_url(req->url);
    if (!url) {
        record.error = url.error().message;
        keep(s, record);
        return respond(s, p, wasi::kInval, {{"error", url.error().message}});
    }
    // The policy decides before any connection is made.
    if (!s.config.network_policy.permits(url->host, url->port)) {
        record.error = "denied by network policy " + s.config.network_policy.to_string() +
                       ": host " + url->host + " port " + std::to_string(url->port);
        keep(s, record);
        return respond(s, p, wasi::kNotcapable, {{"error", record.error}});
    }
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
        s.deadline - std::chrono::steady_clock::now());
    if (remaining.count() <= 0) {
        record.error = "the execution's timeout has passed";
        keep(s, record);
        return respond(s, p, wasi::kIo, {{"error", record.error}});
    }
    // Under a host list through the egress proxy, which judges the addresses the name resolves
    // to (no loopback, link-local, private or host address unless listed as an IP) and records
    // the connection too.
    const size_t max_body = std::min(limits::kMaxHttpResponseBytes, memory_cap_bytes(s));
    auto response = perform_http(*url, *req, remaining, max_body, s.http_proxy, s.cancel, s.proxy_socket);
    if (!response) {
        record.error = response.error().message;
        const bool too_large = response.error().why == rtfs::host::TransferFailure::Why::TooLarge;
        if (too_large && max_body < limits::kMaxHttpResponseBytes) {
            record.error += ", which is the module's memory limit (memory_limit_mb): it could not hold more";
            keep(s, record);
            return respond(s, p, wasi::kNomem, {{"error", record.error}});
        }
        keep(s, record);
        // The egress proxy's own refusal is the policy's, as the check above.
        const bool refused = response.error().why == rtfs::host::TransferFailure::Why::Refused;
        return respond(s, p, refused ? wasi::kNotcapable : wasi::kIo, {{"error", record.error}});
    }
    record.status = static_cast<int>(response->status);
    record.bytes = response->body.size();
    json headers = json::object();
    for (const auto& [name, value] : response->headers) {
        auto it = headers.find(name);  // repeated headers are joined, as HTTP allows
        headers[name] = it == headers.end() ? value : it->get<std::string>() + ", " + value;
    }
    json answer = {{"status", response->status}, {"headers", std::move(headers)}, {"body", std::move(response->body)}};
    size_t length = 0;
    auto answer_text = dump_within(answer, memory_cap_bytes(s), length);
    if (!answer_text) {
        // A binary body's JSON escapes held 6 times its size in the host, outside every limit
        // (red team, 2026-12-06).
        record.error = "the response is " + std::to_string(length) +
                       " bytes as JSON, more than the module's memory limit (memory_limit_mb) could hold";
        keep(s, record);
        return respond(s, p, wasi::kNomem, {{"error", record.error}});
    }
    keep(s, record);
    return respond(s, p, wasi::kSuccess, std::move(*answer_text));
}

uint32_t http_response_read(RunState& s, const Values& p) {
    if (!s.http_response) return wasi::kBadf;
    if (u32_at(p, 1) < s.http_response->size()) return wasi::kOverflow;
    if (!s.mem().write(u32_at(p, 0), s.http_response->data(), s.http_response->size())) {
        return wasi::kFault;
    }
    s.http_response.reset();
    return wasi::kSuccess;
}

constexpr HostFunction kFunctions[] = {
    {"http_fetch", "iii", http_fetch},
    {"http_response_read", "ii", http_response_read},
};

}  // namespace

const HostFunction* find_microvm_function(std::string_view name) {
    for (const HostFunction& f : kFunctions) {
        if (f.name == name) return &f;
    }
    return nullptr;
}

}  // namespace microvm::wasm
