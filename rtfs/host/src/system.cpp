// ccos.math.add, ccos.system.get-env, ccos.system.current-time-millis, ccos.system.sleep.
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <thread>

#include "capabilities.hpp"
#include "rtfs/math_add.hpp"

namespace rtfs::host {

namespace {

constexpr const char* kGetEnv = "ccos.system.get-env";
constexpr const char* kTime = "ccos.system.current-time-millis";
constexpr const char* kSleep = "ccos.system.sleep";

// Short enough that cancellation and deadlines end a sleep promptly.
constexpr auto kSleepSlice = std::chrono::milliseconds(10);

}  // namespace

Result<Value> math_add(DefaultHost&, std::span<const Value> args) {
    return rtfs::math_add(args);  // pure, shared with every host (rtfs/math_add.hpp)
}

Result<Value> system_get_env(DefaultHost& host, std::span<const Value> args) {
    RTFS_CHECK(check_arity(kGetEnv, args, 1, 2));
    RTFS_TRY(const std::string* name, string_arg(kGetEnv, args[0]));
    const Value fallback = args.size() == 2 ? args[1] : Value::nil();
    const auto& env = host.options().environment;
    if (env) {
        auto it = env->find(*name);
        return it == env->end() ? fallback : make_string(it->second);
    }
    const char* v = std::getenv(name->c_str());
    return v ? make_string(v) : fallback;
}

Result<Value> system_current_time_millis(DefaultHost&, std::span<const Value> args) {
    RTFS_CHECK(check_arity(kTime, args, 0, 0));
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    return Value::integer(std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
}

Result<Value> system_sleep(DefaultHost& host, std::span<const Value> args) {
    RTFS_CHECK(check_arity(kSleep, args, 1, 1));
    const Value& ms = args[0];
    if (!ms.is_number())
        return error(ErrorKind::TypeError, std::string("Type error in ") + kSleep +
                                               ": expected number, got " + type_name(ms));
    const double millis = ms.to_double();
    if (!(millis >= 0) || millis > 1e12)  // also rejects NaN
        return error(ErrorKind::InvalidArgument,
                     std::string(kSleep) + ": milliseconds must be between 0 and 1e12");
    const auto end = std::chrono::steady_clock::now() +
                     std::chrono::microseconds(static_cast<int64_t>(std::llround(millis * 1000)));
    for (;;) {
        RTFS_CHECK(check_interrupt(host.options()));
        const auto now = std::chrono::steady_clock::now();
        if (now >= end) return Value::nil();
        std::this_thread::sleep_for(
            std::min<std::chrono::steady_clock::duration>(end - now, kSleepSlice));
    }
}

}  // namespace rtfs::host
