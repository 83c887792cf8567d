// Argument checking and error construction shared by the capability implementations.
#include <chrono>
#include <system_error>

#include "capabilities.hpp"

namespace rtfs::host {

Expected<void, Error> check_arity(const char* id, std::span<const Value> args, size_t min,
                                  size_t max) {
    if (args.size() >= min && args.size() <= max) return Ok{};
    const std::string expected =
        min == max ? std::to_string(min) : std::to_string(min) + " to " + std::to_string(max);
    return error(ErrorKind::ArityMismatch, std::string("Arity mismatch in ") + id + ": expected " +
                                               expected + ", got " + std::to_string(args.size()));
}

Result<const std::string*> string_arg(const char* id, const Value& v) {
    if (!v.is(Type::String))
        return error(ErrorKind::TypeError,
                     std::string("Type error in ") + id + ": expected string, got " + type_name(v));
    return &v.str();
}

Unexpected<Error> capability_error(const char* id, const std::string& why) {
    return error(ErrorKind::CapabilityError, std::string(id) + ": " + why);
}

Unexpected<Error> security_violation(const char* id, const std::string& why) {
    return error(ErrorKind::SecurityViolation, std::string(id) + ": " + why);
}

std::string os_reason(int err) {
    return std::error_code(err, std::generic_category()).message();
}

Expected<void, Error> check_interrupt(const HostOptions& opts) {
    if (opts.cancel && opts.cancel->load(std::memory_order_relaxed))
        return error(ErrorKind::Interrupted, "Evaluation interrupted");
    if (opts.deadline && std::chrono::steady_clock::now() >= *opts.deadline)
        return error(ErrorKind::Interrupted, "Evaluation interrupted: time limit reached");
    return Ok{};
}

}  // namespace rtfs::host
