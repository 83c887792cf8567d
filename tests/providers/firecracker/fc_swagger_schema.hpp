// The request bodies of Firecracker's API as its swagger describes them, for the fake server to
// check every request against. Followed: src/firecracker/swagger/firecracker.yaml of
// firecracker-microvm/firecracker, info.version 1.17.0-dev, commit
// 004d935399ba6062240af269638635d54229f5bf. Firecracker deserializes these with serde's
// deny_unknown_fields, so an unknown field is an error, as here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fcfake {

struct Schema;

struct Field {
    enum class Type { String, Integer, Boolean, Object, Array };
    std::string name;
    Type type = Type::String;
    bool required = false;
    std::vector<std::string> enum_values;  // String: the allowed values, when restricted
    std::optional<int64_t> minimum;        // Integer
    std::optional<int64_t> maximum;
    const Schema* object = nullptr;        // Object: its schema; Array: its items' schema
};

struct Schema {
    std::string name;  // the swagger definition
    std::vector<Field> fields;
};

// The definitions the backend's requests use (and the ones they nest).
const Schema& boot_source_schema();
const Schema& drive_schema();
const Schema& machine_configuration_schema();
const Schema& vsock_schema();
const Schema& instance_action_info_schema();
const Schema& vm_schema();
const Schema& snapshot_create_params_schema();
const Schema& snapshot_load_params_schema();
const Schema& logger_schema();
const Schema& metrics_schema();

// Empty when body conforms to schema; otherwise why not, worded like serde ("unknown field
// `x`", "missing field `y`", "invalid type for `z`: expected an integer").
std::string validate(const Schema& schema, const nlohmann::json& body);

}  // namespace fcfake
