#include "session.hpp"

#include <utility>

#include "rtfs/host/big_stack.hpp"
#include "rtfs/printer.hpp"

namespace rtfs::cli {

namespace {

void describe_error(Outcome& out, const Error& e) {
    out.ok = false;
    out.kind = e.kind();
    out.message = e.message();
    out.line = e.line();
    out.column = e.column();
    out.description = e.describe();
}

}  // namespace

Session::Session(SessionOptions options) : opts_(std::move(options)) {
    if (opts_.capture_output) host_.options().out = [this](std::string_view s) { captured_ += s; };
    host_.options().cancel = &cancel_;
    interp_ = std::make_unique<Interpreter>(
        EvalOptions{.security = opts_.security, .host = &host_, .cancel = &cancel_});
}

Session::~Session() {
    // Definitions may hold deeply nested values: release them on a big stack too.
    auto released = host::run_with_stack(host::kBigStackBytes, [this] { interp_.reset(); });
    if (!released) interp_.reset();
}

Outcome Session::eval(std::string_view source) {
    cancel_ = false;
    std::optional<std::chrono::steady_clock::time_point> deadline;
    if (opts_.timeout) deadline = std::chrono::steady_clock::now() + *opts_.timeout;
    interp_->options().deadline = deadline;
    host_.options().deadline = deadline;

    Outcome out;
    auto ran = host::run_with_stack(host::kBigStackBytes, [&] {
        auto r = interp_->eval(source);
        if (r) {
            out.ok = true;
            out.value = print(*r, kMaxResultBytes);  // as the guests print a result
        } else {
            describe_error(out, r.error());
        }
    });
    if (!ran) describe_error(out, ran.error());
    out.output = std::exchange(captured_, {});
    return out;
}

}  // namespace rtfs::cli
