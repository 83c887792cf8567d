#include "wasi_host.hpp"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "rtfs/json.hpp"
#include "rtfs/math_add.hpp"
#include "rtfs/printer.hpp"

extern "C" {
// Provided by the wasm provider (providers/wasm/src/microvm_imports.hpp).
__attribute__((import_module("microvm"), import_name("http_fetch"))) uint32_t
microvm_http_fetch(const char* req, uint32_t req_len, uint32_t* resp_len);
__attribute__((import_module("microvm"), import_name("http_response_read"))) uint32_t
microvm_http_response_read(char* buf, uint32_t buf_len);
}

namespace rtfs::wasm {

namespace {

constexpr uint64_t kMaxFileBytes = 64ull << 20;

Unexpected<Error> capability_error(const std::string& msg) {
    return unexpected(Error(ErrorKind::CapabilityError, msg));
}

void write_fd(int fd, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
        ssize_t n = ::write(fd, s.data() + off, s.size() - off);
        if (n <= 0) return;
        off += static_cast<size_t>(n);
    }
}

// The line println and log write, as the native host builds it: whole (to_display cut a value
// at kMessageValueBytes) and within what the program may still allocate.
Result<std::string> joined(const char* op, std::span<const Value> args) {
    return display_text(op, args, " ", "\n");
}

Result<const std::string*> path_arg(const char* cap, std::span<const Value> args) {
    if (args.empty() || !args[0].is(Type::String))
        return unexpected(Error(ErrorKind::TypeError, std::string("Type error in ") + cap +
                                                          ": expected a path string"));
    return &args[0].str();
}

// {"status" 200 "headers" {...} "body" "..."} -> {:status 200 :headers {...} :body "..."}
Value keywordize(const Value& m) {
    if (!m.is(Type::Map)) return m;
    std::vector<std::pair<Value, Value>> out;
    for (const auto& [k, v] : m.map().entries())
        out.emplace_back(k.is(Type::String) ? make_keyword(k.str()) : k, v);
    return make_map(std::move(out));
}

}  // namespace

Result<Value> WasiHost::call(std::string_view id, std::span<const Value> args) {
    if (id == "ccos.io.println") {
        RTFS_TRY(const std::string line, joined("println", args));
        write_fd(STDOUT_FILENO, line);
        return Value();
    }
    if (id == "ccos.io.log") {
        RTFS_TRY(const std::string line, joined("log", args));
        write_fd(STDERR_FILENO, line);
        return Value();
    }
    if (id == "ccos.math.add") return math_add(args);
    if (id == "ccos.system.get-env") {
        if (args.empty() || !args[0].is(Type::String))
            return unexpected(Error(ErrorKind::TypeError, "Type error in get-env: expected a name"));
        const char* v = std::getenv(args[0].str().c_str());
        if (v) return make_string(v);
        return args.size() > 1 ? args[1] : Value();
    }
    if (id == "ccos.system.current-time-millis") {
        timespec ts{};
        clock_gettime(CLOCK_REALTIME, &ts);
        return Value::integer(static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000);
    }
    if (id == "ccos.system.sleep") {
        if (args.empty() || !args[0].is(Type::Int) || args[0].as_int() < 0)
            return unexpected(Error(ErrorKind::TypeError, "Type error in sleep: expected milliseconds"));
        // The provider ends a sleep at the run's deadline (poll_oneoff).
        timespec ts{static_cast<time_t>(args[0].as_int() / 1000),
                    static_cast<long>(args[0].as_int() % 1000) * 1000000};
        nanosleep(&ts, nullptr);
        return Value();
    }
    if (id == "ccos.io.read-file") return read_file(args);
    if (id == "ccos.io.write-file") return write_file(args);
    if (id == "ccos.io.file-exists") return file_exists(args);
    if (id == "ccos.network.http-fetch") return http_fetch(args);
    return capability_error("Unknown capability: " + std::string(id));
}

Result<Value> WasiHost::read_file(std::span<const Value> args) {
    RTFS_TRY(const std::string* path, path_arg("read-file", args));
    FileOperation op{*path, "read", 0, ""};
    FILE* f = std::fopen(path->c_str(), "rb");
    if (!f) {
        op.error = strerror(errno);
        log_.file_operations.push_back(op);
        return capability_error("read-file " + *path + ": " + op.error);
    }
    std::string data;
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
        data.append(buf, n);
        if (data.size() > kMaxFileBytes) {
            std::fclose(f);
            op.error = "file larger than the 64 MiB cap";
            log_.file_operations.push_back(op);
            return capability_error("read-file " + *path + ": " + op.error);
        }
    }
    std::fclose(f);
    op.bytes = data.size();
    log_.file_operations.push_back(op);
    return make_string(std::move(data));
}

Result<Value> WasiHost::write_file(std::span<const Value> args) {
    RTFS_TRY(const std::string* path, path_arg("write-file", args));
    if (args.size() < 2 || !args[1].is(Type::String))
        return unexpected(Error(ErrorKind::TypeError, "Type error in write-file: expected content string"));
    const std::string& content = args[1].str();
    FileOperation op{*path, "write", 0, ""};
    FILE* f = std::fopen(path->c_str(), "wb");
    if (!f || std::fwrite(content.data(), 1, content.size(), f) != content.size()) {
        op.error = strerror(errno);
        if (f) std::fclose(f);
        log_.file_operations.push_back(op);
        return capability_error("write-file " + *path + ": " + op.error);
    }
    std::fclose(f);
    op.bytes = content.size();
    log_.file_operations.push_back(op);
    return Value();
}

Result<Value> WasiHost::file_exists(std::span<const Value> args) {
    RTFS_TRY(const std::string* path, path_arg("file-exists?", args));
    struct stat st {};
    bool exists = ::stat(path->c_str(), &st) == 0;
    log_.file_operations.push_back({*path, "exists", 0, ""});
    return Value::boolean(exists);
}

Result<Value> WasiHost::http_fetch(std::span<const Value> args) {
    if (args.size() != 1 || !(args[0].is(Type::String) || args[0].is(Type::Map)))
        return unexpected(Error(ErrorKind::TypeError,
                                "Type error in http-fetch: expected a URL or {:url ...}"));
    Value request = args[0].is(Type::String)
                        ? make_map({{make_string("url"), args[0]}})
                        : args[0];
    RTFS_TRY(std::string req, json::serialize(request));
    uint32_t resp_len = 0;
    const uint32_t err = microvm_http_fetch(req.data(), static_cast<uint32_t>(req.size()), &resp_len);
    std::string resp(resp_len, '\0');
    if (resp_len > 0 && microvm_http_response_read(resp.data(), resp_len) != 0)
        return capability_error("http-fetch: the response could not be read");
    auto parsed = json::parse(resp);
    std::string message = "http-fetch failed";
    if (parsed && parsed->is(Type::Map)) {
        if (const Value* e = parsed->map().find(make_string("error"))) message = to_display(*e);
    }
    if (err == ENOTCAPABLE) return unexpected(Error(ErrorKind::SecurityViolation, message));
    if (err == EINVAL) return unexpected(Error(ErrorKind::InvalidArgument, message));
    if (err != 0) return capability_error(message);
    if (!parsed) return capability_error("http-fetch: malformed response from the host");
    return keywordize(*parsed);
}

}  // namespace rtfs::wasm
