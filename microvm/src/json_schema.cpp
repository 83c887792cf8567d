// The subset of JSON Schema that provider settings need; see json_schema.hpp.
#include "json_schema.hpp"

#include <vector>

#include "text_util.hpp"

namespace microvm {
namespace {

using nlohmann::json;

const char* type_name(const json& v) {
    switch (v.type()) {
        case json::value_t::null:
            return "null";
        case json::value_t::boolean:
            return "boolean";
        case json::value_t::number_integer:
        case json::value_t::number_unsigned:
            return "integer";
        case json::value_t::number_float:
            return "number";
        case json::value_t::string:
            return "string";
        case json::value_t::array:
            return "array";
        case json::value_t::object:
            return "object";
        default:
            return "value";
    }
}

bool has_type(const json& v, const std::string& type) {
    if (type == "object") return v.is_object();
    if (type == "array") return v.is_array();
    if (type == "string") return v.is_string();
    if (type == "integer") return v.is_number_integer();
    if (type == "number") return v.is_number();
    if (type == "boolean") return v.is_boolean();
    if (type == "null") return v.is_null();
    return false;
}

std::string where(const std::string& path) {
    return path.empty() ? "settings" : path;
}

std::string child(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
}

Expected<void> bad(const std::string& path, const std::string& what) {
    return fail(Failure::Kind::InvalidConfig, where(path) + ": " + what);
}

Expected<void> check_type(const json& value, const json& schema, const std::string& path) {
    auto it = schema.find("type");
    if (it == schema.end()) return Ok{};
    std::vector<std::string> types;
    if (it->is_string()) types.push_back(it->get<std::string>());
    if (it->is_array()) {
        for (const json& t : *it) {
            if (t.is_string()) types.push_back(t.get<std::string>());
        }
    }
    for (const std::string& t : types) {
        if (has_type(value, t)) return Ok{};
    }
    return bad(path, "expected " + text::join(types, " or ") + ", got " + type_name(value));
}

Expected<void> check_object(const json& value, const json& schema, const std::string& path) {
    const json empty = json::object();
    auto props_it = schema.find("properties");
    const json& props = props_it != schema.end() && props_it->is_object() ? *props_it : empty;
    if (auto req = schema.find("required"); req != schema.end() && req->is_array()) {
        for (const json& key : *req) {
            if (key.is_string() && !value.contains(key.get<std::string>())) {
                return bad(child(path, key.get<std::string>()), "missing required key");
            }
        }
    }
    auto extra = schema.find("additionalProperties");
    for (const auto& [key, item] : value.items()) {
        if (auto p = props.find(key); p != props.end()) {
            RTFS_CHECK(validate_json_schema(item, *p, child(path, key)));
        } else if (extra != schema.end() && extra->is_boolean() && !extra->get<bool>()) {
            std::vector<std::string> known;
            for (const auto& [k, unused] : props.items()) known.push_back(k);
            std::string list = known.empty() ? "this provider takes no settings"
                                             : "known: " + text::join(known, ", ");
            return fail(Failure::Kind::InvalidConfig,
                        "unknown key " + text::quoted(child(path, key)) + " (" + list + ")");
        } else if (extra != schema.end() && extra->is_object()) {
            RTFS_CHECK(validate_json_schema(item, *extra, child(path, key)));
        }
    }
    return Ok{};
}

Expected<void> check_bounds(const json& value, const json& schema, const std::string& path) {
    if (value.is_number()) {
        double v = value.get<double>();
        if (auto m = schema.find("minimum");
            m != schema.end() && m->is_number() && v < m->get<double>()) {
            return bad(path, "must be at least " + m->dump() + ", got " + value.dump());
        }
        if (auto m = schema.find("maximum");
            m != schema.end() && m->is_number() && v > m->get<double>()) {
            return bad(path, "must be at most " + m->dump() + ", got " + value.dump());
        }
    }
    if (value.is_string()) {
        if (auto m = schema.find("minLength");
            m != schema.end() && m->is_number_unsigned() &&
            value.get_ref<const std::string&>().size() < m->get<size_t>()) {
            return bad(path, "must be at least " + m->dump() + " characters long");
        }
    }
    if (auto e = schema.find("enum"); e != schema.end() && e->is_array()) {
        for (const json& allowed : *e) {
            if (allowed == value) return Ok{};
        }
        return bad(path, "must be one of " + e->dump());
    }
    return Ok{};
}

}  // namespace

Expected<void> validate_json_schema(const json& value, const json& schema,
                                    const std::string& path) {
    if (!schema.is_object()) return Ok{};
    RTFS_CHECK(check_type(value, schema, path));
    RTFS_CHECK(check_bounds(value, schema, path));
    if (value.is_object()) RTFS_CHECK(check_object(value, schema, path));
    if (auto items = schema.find("items"); value.is_array() && items != schema.end()) {
        for (size_t i = 0; i < value.size(); ++i) {
            RTFS_CHECK(
                validate_json_schema(value[i], *items, path + "[" + std::to_string(i) + "]"));
        }
    }
    return Ok{};
}

}  // namespace microvm
