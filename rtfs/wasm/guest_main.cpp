// rtfs-guest.wasm: the RTFS guest agent for the wasm provider, in the stdio mode of the native
// microvm-guest (docs/guest-protocol.md): one Exec frame (kind rtfs) on stdin, println output on
// stdout, one Result frame on fd 3.
//
// A WASI reactor, entered twice: _initialize (the C and C++ constructors, and the set-up every
// run needs, see warm_up) reads no input and calls no host function, so the provider can keep
// a snapshot of the initialised guest and start each run from it (providers/wasm/src/
// guest_snapshot.hpp); rtfs_guest_run then reads the job and ends with exit. Built with clang-19 for wasm32-wasi, without exceptions or
// threads; frames through microvm/agent_frame.hpp (header-only), JSON through the RTFS core's
// own codec.
#include <stdlib.h>
#include <unistd.h>
#include <wasi/api.h>
#include <wasi/libc.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "microvm/agent_frame.hpp"
#include "rtfs/interpreter.hpp"
#include "rtfs/json.hpp"
#include "rtfs/printer.hpp"
#include "rtfs/reader.hpp"
#include "wasi_host.hpp"

namespace {

using namespace rtfs;

constexpr int kResultFd = 3;
constexpr size_t kMaxJobBytes = 64u << 20;
// Linked with -z stack-size=8 MiB (rtfs/CMakeLists.txt); the evaluator may use all but a margin.
// 8 MiB holds about 12,000 nested RTFS calls; every run zero-fills it, so it is not larger.
constexpr size_t kNativeStackBytes = (8u << 20) - (512u << 10);

std::string read_stdin() {
    std::string data;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(STDIN_FILENO, buf, sizeof buf)) > 0) {
        data.append(buf, static_cast<size_t>(n));
        if (data.size() > kMaxJobBytes) break;
    }
    return data;
}

const Value* field(const Value& m, const char* name) {
    return m.is(Type::Map) ? m.map().find(make_string(name)) : nullptr;
}

std::string string_field(const Value& m, const char* name) {
    const Value* v = field(m, name);
    return v && v->is(Type::String) ? v->str() : std::string();
}

RuntimeContext runtime_context_of(const Value& job) {
    const Value* rc = field(job, "runtime_context");
    if (!rc) return RuntimeContext::pure();
    std::string level = string_field(*rc, "level");
    if (level == "full") return RuntimeContext::full();
    if (level == "controlled") {
        std::vector<std::string> ids;
        if (const Value* allowed = field(*rc, "allowed"); allowed && allowed->is_seq())
            for (const auto& id : allowed->items())
                if (id.is(Type::String)) ids.push_back(id.str());
        return RuntimeContext::controlled(std::move(ids));
    }
    return RuntimeContext::pure();
}

Value s(const std::string& text) { return make_string(text); }

Value result_frame_value(bool ok, const std::string& value, const std::string& kind,
                         const std::string& message, const EffectLog& log) {
    std::vector<Value> files;
    for (const auto& f : log.file_operations)
        files.push_back(make_map({{s("path"), s(f.path)},
                                  {s("operation"), s(f.operation)},
                                  {s("bytes"), Value::integer(static_cast<int64_t>(f.bytes))},
                                  {s("error"), s(f.error)}}));
    return make_map({{s("ok"), Value::boolean(ok)},
                     {s("value"), s(value)},
                     {s("error_kind"), s(kind)},
                     {s("error_message"), s(message)},
                     {s("effects"), make_map({{s("network_requests"), make_vector({})},
                                              {s("file_operations"), make_vector(std::move(files))}})}});
}

bool write_frame(const std::string& body) {
    const std::string frame = microvm::agent::encode_frame(microvm::agent::FrameType::Result, body);
    size_t off = 0;
    while (off < frame.size()) {
        ssize_t w = ::write(kResultFd, frame.data() + off, frame.size() - off);
        if (w <= 0) return false;
        off += static_cast<size_t>(w);
    }
    return true;
}

// The job inside the one Exec frame on stdin; a message in error otherwise.
Result<Value> read_job(std::string& error) {
    std::string bytes = read_stdin();
    microvm::agent::FrameDecoder decoder;
    decoder.feed(bytes);
    microvm::agent::Frame frame;
    auto status = decoder.next(frame);
    if (status != microvm::agent::FrameDecoder::Status::Ready) {
        error = status == microvm::agent::FrameDecoder::Status::Malformed ? decoder.error()
                                                                        : "truncated Exec frame";
    } else if (frame.type != microvm::agent::FrameType::Exec) {
        error = std::string("a ") + microvm::agent::type_name(frame.type) +
                " frame where an Exec frame was expected";
    } else if (decoder.pending() > 0) {
        error = "unexpected bytes after the Exec frame";
    } else {
        auto exec = json::parse(frame.payload);
        if (!exec) {
            error = exec.error().message();
        } else if (!exec->is(Type::Map) || string_field(*exec, "kind") != "rtfs") {
            error = "the wasm guest runs Exec frames of kind rtfs only";
        } else if (const Value* job = field(*exec, "job"); job && job->is(Type::Map) && field(*job, "source")) {
            return *job;
        } else {
            error = "no source";
        }
    }
    return unexpected(Error(ErrorKind::ReadError, error));
}

// The provider shows no preopened directory to the initialisation (so that its snapshot does not
// depend on the fs policy), so wasi-libc's start-up scan found none: this is that scan, now.
void register_preopens() {
    constexpr int kOsErr = 71;  // what wasi-libc's scan exits with (EX_OSERR)
    for (__wasi_fd_t fd = 3; fd != 0; ++fd) {
        __wasi_prestat_t prestat;
        __wasi_errno_t ret = __wasi_fd_prestat_get(fd, &prestat);
        if (ret == __WASI_ERRNO_BADF) break;
        if (ret != __WASI_ERRNO_SUCCESS) _Exit(kOsErr);
        if (prestat.tag != __WASI_PREOPENTYPE_DIR) continue;
        std::string name(prestat.u.dir.pr_name_len, '\0');
        if (__wasi_fd_prestat_dir_name(fd, reinterpret_cast<uint8_t*>(name.data()), name.size()) !=
                __WASI_ERRNO_SUCCESS ||
            __wasilibc_register_preopened_fd(fd, name.c_str()) != 0) {
            _Exit(kOsErr);
        }
    }
}

int run() {
    register_preopens();
    wasm::WasiHost host;
    bool ok = false;
    std::string value, kind, message;
    {
        std::string error;
        auto job = read_job(error);
        if (!job) {
            kind = "ReadError";
            message = "invalid job: " + error;
        } else {
            EvalOptions eo;
            eo.security = runtime_context_of(*job);
            eo.host = &host;
            eo.native_stack_bytes = kNativeStackBytes;
            eo.value_stack_slots = 1u << 16;  // reserved up front: 1 MiB, ample for that depth
            if (const Value* t = field(*job, "timeout_ms"); t && t->is(Type::Int) && t->as_int() > 0)
                eo.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(t->as_int());
            Interpreter interp(eo);
            std::vector<Value> args;
            bool args_ok = true;
            if (const Value* a = field(*job, "args"); a && a->is_seq()) {
                for (const auto& text : a->items()) {
                    auto v = text.is(Type::String) ? read_one(text.str())
                                                   : Result<Value>(unexpected(Error(ErrorKind::ReadError, "argument is not a string")));
                    if (!v) {
                        kind = "ReadError";
                        message = "argument: " + v.error().located_message();
                        args_ok = false;
                        break;
                    }
                    args.push_back(std::move(*v));
                }
            }
            if (args_ok) {
                interp.define("*args*", make_vector(std::move(args)));
                auto r = interp.eval(string_field(*job, "source"));
                if (r) {
                    ok = true;
                    value = print(*r, kMaxResultBytes);
                } else {
                    kind = to_string(r.error().kind());
                    message = r.error().located_message();
                }
            }
        }
    }
    auto body = json::serialize(result_frame_value(ok, value, kind, bounded_message(message), host.effects()));
    if (!body || !write_frame(*body)) return 70;
    return 0;
}

// The builtin table is built on its first use; building it at initialisation puts it in the
// snapshot instead of in every run (it was most of the interpreted work of `(+ 1 2)`).
[[maybe_unused]] const bool warmed_up = [] {
    (void)find_builtin("");
    return true;
}();

}  // namespace

__attribute__((export_name("rtfs_guest_run"))) void rtfs_guest_run() { exit(run()); }
