// DefaultHost: dispatch of capability ids to their implementations, and the effect log.
#include "rtfs/host/default_host.hpp"

#include <array>
#include <utility>

#include "capabilities.hpp"

namespace rtfs::host {

namespace {

struct Entry {
    std::string_view id;
    Capability fn;
};

constexpr std::array<Entry, 10> kCapabilities{{
    {"ccos.io.println", io_println},
    {"ccos.io.log", io_log},
    {"ccos.io.read-file", io_read_file},
    {"ccos.io.write-file", io_write_file},
    {"ccos.io.file-exists", io_file_exists},
    {"ccos.math.add", math_add},
    {"ccos.network.http-fetch", network_http_fetch},
    {"ccos.system.get-env", system_get_env},
    {"ccos.system.current-time-millis", system_current_time_millis},
    {"ccos.system.sleep", system_sleep},
}};

}  // namespace

DefaultHost::DefaultHost(HostOptions options) : opts_(std::move(options)) {}

Result<Value> DefaultHost::call(std::string_view capability_id, std::span<const Value> args) {
    for (const Entry& e : kCapabilities)
        if (e.id == capability_id) return e.fn(*this, args);
    return error(ErrorKind::CapabilityError, "Unknown capability: " + std::string(capability_id));
}

EffectLog DefaultHost::effects() const {
    std::lock_guard lock(log_mutex_);
    return log_;
}

void DefaultHost::record(NetworkRequest r) {
    std::lock_guard lock(log_mutex_);
    log_.record(std::move(r));
}

void DefaultHost::record(FileOperation op) {
    std::lock_guard lock(log_mutex_);
    log_.record(std::move(op));
}

}  // namespace rtfs::host
