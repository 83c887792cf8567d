#include "fc_swagger_schema.hpp"

namespace fcfake {
namespace {

using T = Field::Type;
using nlohmann::json;

Field str(std::string name, bool required = false, std::vector<std::string> values = {}) {
    return {std::move(name), T::String, required, std::move(values), {}, {}, nullptr};
}
Field integer(std::string name, bool required = false, std::optional<int64_t> min = 0,
              std::optional<int64_t> max = {}) {
    // min 0 by default: every integer of these definitions is unsigned in Firecracker's Rust.
    return {std::move(name), T::Integer, required, {}, min, max, nullptr};
}
Field boolean(std::string name, bool required = false) {
    return {std::move(name), T::Boolean, required, {}, {}, {}, nullptr};
}
Field object(std::string name, const Schema& s, bool required = false) {
    return {std::move(name), T::Object, required, {}, {}, {}, &s};
}
Field array(std::string name, const Schema& items) {
    return {std::move(name), T::Array, false, {}, {}, {}, &items};
}

const char* type_name(T t) {
    switch (t) {
        case T::String: return "a string";
        case T::Integer: return "an integer";
        case T::Boolean: return "a boolean";
        case T::Object: return "an object";
        case T::Array: return "an array";
    }
    return "?";
}

bool has_type(const json& v, T t) {
    switch (t) {
        case T::String: return v.is_string();
        case T::Integer: return v.is_number_integer();
        case T::Boolean: return v.is_boolean();
        case T::Object: return v.is_object();
        case T::Array: return v.is_array();
    }
    return false;
}

const Schema& token_bucket_schema() {
    static const Schema s{"TokenBucket",
                          {integer("one_time_burst"), integer("refill_time", true),
                           integer("size", true)}};
    return s;
}

const Schema& rate_limiter_schema() {
    static const Schema s{"RateLimiter",
                          {object("bandwidth", token_bucket_schema()),
                           object("ops", token_bucket_schema())}};
    return s;
}

const Schema& memory_backend_schema() {
    static const Schema s{"MemoryBackend",
                          {str("backend_type", true, {"File", "Uffd"}), str("backend_path", true)}};
    return s;
}

const Schema& network_override_schema() {
    static const Schema s{"NetworkOverride", {str("iface_id", true), str("host_dev_name", true)}};
    return s;
}

const Schema& vsock_override_schema() {
    static const Schema s{"VsockOverride", {str("uds_path", true)}};
    return s;
}

}  // namespace

const Schema& boot_source_schema() {
    static const Schema s{"BootSource",
                          {str("boot_args"), str("initrd_path"), str("kernel_image_path", true)}};
    return s;
}

const Schema& drive_schema() {
    static const Schema s{"Drive",
                          {str("drive_id", true), str("partuuid"), boolean("is_root_device", true),
                           str("cache_type", false, {"Unsafe", "Writeback"}),
                           boolean("is_read_only"), str("path_on_host"),
                           object("rate_limiter", rate_limiter_schema()),
                           str("io_engine", false, {"Sync", "Async"}), str("socket")}};
    return s;
}

const Schema& machine_configuration_schema() {
    static const Schema s{
        "MachineConfiguration",
        {str("cpu_template", false, {"C3", "T2", "T2S", "T2CL", "T2A", "V1N1", "None"}),
         boolean("smt"), integer("mem_size_mib", true), boolean("track_dirty_pages"),
         integer("vcpu_count", true, 1, 32), str("huge_pages", false, {"None", "Transparent", "2M"})}};
    return s;
}

const Schema& vsock_schema() {
    static const Schema s{"Vsock",
                          {integer("guest_cid", true, 3), str("uds_path", true), str("vsock_id")}};
    return s;
}

const Schema& instance_action_info_schema() {
    static const Schema s{
        "InstanceActionInfo",
        {str("action_type", true, {"FlushMetrics", "InstanceStart", "SendCtrlAltDel"})}};
    return s;
}

const Schema& vm_schema() {
    static const Schema s{"Vm", {str("state", true, {"Paused", "Resumed"})}};
    return s;
}

const Schema& snapshot_create_params_schema() {
    static const Schema s{"SnapshotCreateParams",
                          {str("mem_file_path", true), str("snapshot_path", true),
                           str("snapshot_type", false, {"Full", "Diff"})}};
    return s;
}

const Schema& snapshot_load_params_schema() {
    static const Schema s{"SnapshotLoadParams",
                          {boolean("enable_diff_snapshots"), boolean("track_dirty_pages"),
                           str("mem_file_path"), object("mem_backend", memory_backend_schema()),
                           str("snapshot_path", true), boolean("resume_vm"),
                           array("network_overrides", network_override_schema()),
                           object("vsock_override", vsock_override_schema()),
                           boolean("clock_realtime")}};
    return s;
}

const Schema& logger_schema() {
    // Firecracker reads the level case-insensitively; the fake holds the client to the
    // documented spelling.
    static const Schema s{"Logger",
                          {str("level", false, {"Error", "Warning", "Info", "Debug", "Trace", "Off"}),
                           str("log_path"), boolean("show_level"), boolean("show_log_origin"),
                           str("module")}};
    return s;
}

const Schema& metrics_schema() {
    static const Schema s{"Metrics", {str("metrics_path", true)}};
    return s;
}

std::string validate(const Schema& schema, const json& body) {
    if (!body.is_object()) return "invalid type: expected " + schema.name + " (an object)";
    for (const auto& [key, value] : body.items()) {
        const Field* field = nullptr;
        for (const Field& f : schema.fields) {
            if (f.name == key) field = &f;
        }
        if (!field) return "unknown field `" + key + "` in " + schema.name;
        if (!has_type(value, field->type)) {
            return "invalid type for `" + key + "`: expected " + type_name(field->type);
        }
        if (field->type == T::String && !field->enum_values.empty()) {
            const std::string& v = value.get_ref<const std::string&>();
            bool known = false;
            for (const auto& e : field->enum_values) known = known || e == v;
            if (!known) return "unknown variant `" + v + "` for `" + key + "`";
        }
        if (field->type == T::Integer) {
            // A negative number is is_number_integer() but not unsigned.
            int64_t v = value.is_number_unsigned() ? static_cast<int64_t>(value.get<uint64_t>())
                                                   : value.get<int64_t>();
            if ((field->minimum && v < *field->minimum) || (field->maximum && v > *field->maximum)) {
                return "`" + key + "` out of range: " + std::to_string(v);
            }
        }
        if (field->type == T::Object) {
            std::string inner = validate(*field->object, value);
            if (!inner.empty()) return inner;
        }
        if (field->type == T::Array) {
            for (const json& item : value) {
                std::string inner = validate(*field->object, item);
                if (!inner.empty()) return inner;
            }
        }
    }
    for (const Field& f : schema.fields) {
        if (f.required && !body.contains(f.name)) return "missing field `" + f.name + "`";
    }
    return {};
}

}  // namespace fcfake
