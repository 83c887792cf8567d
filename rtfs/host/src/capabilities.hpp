// The capability implementations of DefaultHost, one file per area, and the argument and
// error helpers they share.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "rtfs/host/default_host.hpp"
#include "rtfs/value.hpp"

namespace rtfs::host {

using Capability = Result<Value> (*)(DefaultHost& host, std::span<const Value> args);

// console.cpp
Result<Value> io_println(DefaultHost& host, std::span<const Value> args);
Result<Value> io_log(DefaultHost& host, std::span<const Value> args);
// system.cpp
Result<Value> math_add(DefaultHost& host, std::span<const Value> args);
Result<Value> system_get_env(DefaultHost& host, std::span<const Value> args);
Result<Value> system_current_time_millis(DefaultHost& host, std::span<const Value> args);
Result<Value> system_sleep(DefaultHost& host, std::span<const Value> args);
// files.cpp
Result<Value> io_read_file(DefaultHost& host, std::span<const Value> args);
Result<Value> io_write_file(DefaultHost& host, std::span<const Value> args);
Result<Value> io_file_exists(DefaultHost& host, std::span<const Value> args);
// http_fetch.cpp
Result<Value> network_http_fetch(DefaultHost& host, std::span<const Value> args);

// ---- shared helpers (capability_args.cpp) ---------------------------------------------------

// "Arity mismatch in {id}: expected {n}, got {m}" unless min <= args.size() <= max.
Expected<void, Error> check_arity(const char* id, std::span<const Value> args, size_t min,
                                  size_t max);
// The text of a string argument, else "Type error in {id}: expected string, got {type}".
Result<const std::string*> string_arg(const char* id, const Value& v);

Unexpected<Error> capability_error(const char* id, const std::string& why);
Unexpected<Error> security_violation(const char* id, const std::string& why);
// Thread-safe strerror.
std::string os_reason(int err);

// An Interrupted error (same messages as the evaluator's) once the host's cancel flag is set
// or its deadline has passed.
Expected<void, Error> check_interrupt(const HostOptions& opts);

}  // namespace rtfs::host
