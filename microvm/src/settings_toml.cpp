// parse_settings: reads the TOML settings file (spec section 5). Every error names file:line and
// the dotted key; unknown keys are errors too.
#include <toml++/toml.h>

#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>

#include "microvm/settings.hpp"
#include "text_util.hpp"

namespace microvm {
namespace {

using nlohmann::json;

const char* type_name(const toml::node& n) {
    switch (n.type()) {
        case toml::node_type::table:
            return "table";
        case toml::node_type::array:
            return "array";
        case toml::node_type::string:
            return "string";
        case toml::node_type::integer:
            return "integer";
        case toml::node_type::floating_point:
            return "float";
        case toml::node_type::boolean:
            return "boolean";
        case toml::node_type::date:
            return "date";
        case toml::node_type::time:
            return "time";
        case toml::node_type::date_time:
            return "date-time";
        default:
            return "nothing";
    }
}

// A key as written in a dotted path: quoted when it is not a bare TOML key.
std::string key_text(std::string_view key) {
    bool bare =
        !key.empty() && key.find_first_not_of(
                            "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                            "abcdefghijklmnopqrstuvwxyz0123456789_-") == std::string_view::npos;
    return bare ? std::string(key) : "\"" + std::string(key) + "\"";
}

std::string child(const std::string& path, std::string_view key) {
    return path.empty() ? key_text(key) : path + "." + key_text(key);
}

class SettingsReader {
  public:
    explicit SettingsReader(std::string_view file)
        : file_(file.empty() ? "<settings>" : std::string(file)) {}
    // Values built in memory (read_config_override) have no file and no lines: errors name the
    // key alone.
    struct Unlocated {};
    explicit SettingsReader(Unlocated) : located_(false) {}

    Expected<Settings> read(const toml::table& root);
    Expected<ConfigOverride> read_override(const toml::node& node, const std::string& path);
    rtfs::Unexpected<Failure> error(const toml::source_region& at, const std::string& path,
                                    std::string what) const {
        return fail(Failure::Kind::InvalidConfig,
                    (located_ ? location(at) + ": " : "") + path + ": " + what);
    }
    std::string location(const toml::source_region& at) const {
        return file_ + ":" + std::to_string(at.begin.line);
    }

  private:
    Expected<void> read_top_level(const toml::key& key, const toml::node& value, Settings& out);
    Expected<void> read_override_key(const toml::key& key, const toml::node& value,
                                     const std::string& path, ConfigOverride& out);
    Expected<Profile> read_profile(const toml::node& node, const std::string& path);
    Expected<NetworkPolicy> read_network(const toml::node& node, const std::string& path);
    Expected<FileSystemPolicy> read_fs(const toml::node& node, const std::string& path);
    Expected<std::map<std::string, std::string>> read_env(const toml::node& node,
                                                          const std::string& path);
    Expected<json> to_json(const toml::node& node, const std::string& path);

    Expected<const toml::table*> table(const toml::node& node, const std::string& path) const {
        if (const toml::table* t = node.as_table()) return t;
        return error(node.source(), path, std::string("expected a table, got ") + type_name(node));
    }
    Expected<std::string> string(const toml::node& node, const std::string& path) const {
        if (const auto* s = node.as_string()) return s->get();
        return error(node.source(), path, std::string("expected a string, got ") + type_name(node));
    }
    // An integer in [min, max].
    Expected<int64_t> integer(const toml::node& node, const std::string& path, int64_t min,
                              int64_t max) const {
        const auto* i = node.as_integer();
        if (!i) {
            return error(node.source(), path,
                         std::string("expected an integer, got ") + type_name(node));
        }
        if (i->get() < min || i->get() > max) {
            std::string range =
                max == std::numeric_limits<int64_t>::max()
                    ? "at least " + std::to_string(min)
                    : "between " + std::to_string(min) + " and " + std::to_string(max);
            return error(node.source(), path,
                         "must be " + range + ", got " + std::to_string(i->get()));
        }
        return i->get();
    }
    rtfs::Unexpected<Failure> unknown_key(const toml::key& key, const std::string& path,
                                          std::initializer_list<const char*> known) const {
        return error(key.source(), child(path, key.str()),
                     "unknown key (known: " + text::join(known, ", ") + ")");
    }

    std::string file_;
    bool located_ = true;
};

// The keys of a config override, in the order the reader's errors list them.
constexpr std::initializer_list<const char*> kOverrideKeys = {
    "timeout",   "memory_limit_mb", "cpu_limit",        "network_policy",
    "fs_policy", "env_vars",        "max_output_bytes", "max_processes"};

Expected<Settings> SettingsReader::read(const toml::table& root) {
    Settings out;
    for (auto&& [key, value] : root) RTFS_CHECK(read_top_level(key, value, out));
    return out;
}

Expected<void> SettingsReader::read_top_level(const toml::key& key, const toml::node& value,
                                              Settings& out) {
    const std::string path = key_text(key.str());
    if (key.str() == "default_provider") {
        RTFS_TRY(out.default_provider, string(value, path));
        if (out.default_provider.empty()) return error(value.source(), path, "is empty");
    } else if (key.str() == "default_config") {
        RTFS_TRY(ConfigOverride o, read_override(value, path));
        out.default_config = o.apply_to(MicroVMConfig{});
    } else if (key.str() == "provider_configs") {
        RTFS_TRY(const toml::table* t, table(value, path));
        for (auto&& [name, cfg] : *t) {
            const std::string p = child(path, name.str());
            if (!cfg.is_table()) {
                return error(cfg.source(), p,
                             std::string("expected a table, got ") + type_name(cfg));
            }
            RTFS_TRY(out.provider_configs[std::string(name.str())], to_json(cfg, p));
            out.provider_config_origins[std::string(name.str())] = location(name.source());
        }
    } else if (key.str() == "capability_configs") {
        RTFS_TRY(const toml::table* t, table(value, path));
        for (auto&& [id, cfg] : *t) {
            RTFS_TRY(out.capability_configs[std::string(id.str())],
                     read_override(cfg, child(path, id.str())));
        }
    } else if (key.str() == "service") {
        if (!value.is_table())
            return error(value.source(), path, std::string("expected a table, got ") + type_name(value));
        RTFS_TRY(out.service, to_json(value, path));
        out.service_origin = location(key.source());
    } else if (key.str() == "profiles") {
        RTFS_TRY(const toml::table* t, table(value, path));
        for (auto&& [name, profile] : *t) {
            RTFS_TRY(out.profiles[std::string(name.str())],
                     read_profile(profile, child(path, name.str())));
        }
    } else {
        return unknown_key(key, "",
                           {"default_provider", "default_config", "provider_configs",
                            "capability_configs", "profiles", "service"});
    }
    return Ok{};
}

Expected<Profile> SettingsReader::read_profile(const toml::node& node, const std::string& path) {
    RTFS_TRY(const toml::table* t, table(node, path));
    Profile profile;
    for (auto&& [key, value] : *t) {
        const std::string p = child(path, key.str());
        if (key.str() == "default_provider") {
            RTFS_TRY(profile.default_provider, string(value, p));
        } else if (key.str() == "default_config") {
            RTFS_TRY(profile.default_config, read_override(value, p));
        } else {
            return unknown_key(key, path, {"default_provider", "default_config"});
        }
    }
    return profile;
}

Expected<ConfigOverride> SettingsReader::read_override(const toml::node& node,
                                                       const std::string& path) {
    RTFS_TRY(const toml::table* t, table(node, path));
    ConfigOverride out;
    for (auto&& [key, value] : *t) RTFS_CHECK(read_override_key(key, value, path, out));
    return out;
}

Expected<void> SettingsReader::read_override_key(const toml::key& key, const toml::node& value,
                                                 const std::string& path, ConfigOverride& out) {
    const std::string p = child(path, key.str());
    const std::string_view k = key.str();
    // The key alone, applied to the defaults: MicroVMConfig::validate() then judges this one
    // value, so the range rules live in one place.
    ConfigOverride one;
    if (k == "timeout") {
        if (!value.is_string()) {
            return error(
                value.source(), p,
                std::string("expected a duration string like \"30s\", got ") + type_name(value));
        }
        auto d = parse_duration(value.as_string()->get());
        if (!d) return error(value.source(), p, d.error().message);
        one.timeout = *d;
    } else if (k == "memory_limit_mb") {
        RTFS_TRY(int64_t mb, integer(value, p, 1, std::numeric_limits<int64_t>::max()));
        one.memory_limit_mb = static_cast<uint64_t>(mb);
    } else if (k == "cpu_limit") {
        if (!value.is_number()) {
            return error(value.source(), p,
                         std::string("expected a number, got ") + type_name(value));
        }
        one.cpu_limit = value.is_integer() ? static_cast<double>(value.as_integer()->get())
                                           : value.as_floating_point()->get();
    } else if (k == "network_policy") {
        RTFS_TRY(one.network_policy, read_network(value, p));
    } else if (k == "fs_policy") {
        RTFS_TRY(one.fs_policy, read_fs(value, p));
    } else if (k == "env_vars") {
        RTFS_TRY(one.env_vars, read_env(value, p));
    } else if (k == "max_output_bytes") {
        RTFS_TRY(int64_t n, integer(value, p, 1, std::numeric_limits<int64_t>::max()));
        one.max_output_bytes = static_cast<uint64_t>(n);
    } else if (k == "max_processes") {
        RTFS_TRY(int64_t n, integer(value, p, 1, std::numeric_limits<uint32_t>::max()));
        one.max_processes = static_cast<uint32_t>(n);
    } else {
        return unknown_key(key, path, kOverrideKeys);
    }
    if (auto valid = one.apply_to(MicroVMConfig{}).validate(); !valid) {
        std::string message = valid.error().message;
        const std::string prefix = std::string(k) + ": ";
        if (message.starts_with(prefix)) message.erase(0, prefix.size());
        return error(value.source(), p, message);
    }
    // Merge the one key into the override being built.
    ConfigOverride merged = out;
    if (one.timeout) merged.timeout = one.timeout;
    if (one.memory_limit_mb) merged.memory_limit_mb = one.memory_limit_mb;
    if (one.cpu_limit) merged.cpu_limit = one.cpu_limit;
    if (one.network_policy) merged.network_policy = one.network_policy;
    if (one.fs_policy) merged.fs_policy = one.fs_policy;
    if (one.env_vars) merged.env_vars = one.env_vars;
    if (one.max_output_bytes) merged.max_output_bytes = one.max_output_bytes;
    if (one.max_processes) merged.max_processes = one.max_processes;
    out = std::move(merged);
    return Ok{};
}

Expected<NetworkPolicy> SettingsReader::read_network(const toml::node& node,
                                                     const std::string& path) {
    constexpr const char* kForms =
        "expected \"denied\", \"full\", { allow = [HOST, ...] } or { deny = [HOST, ...] }";
    if (const auto* s = node.as_string()) {
        auto policy = NetworkPolicy::parse(s->get());
        if (!policy) return error(node.source(), path, policy.error().message);
        return *policy;
    }
    const toml::table* t = node.as_table();
    if (!t) return error(node.source(), path, std::string(kForms) + ", got " + type_name(node));
    if (t->size() != 1)
        return error(node.source(), path, std::string(kForms) + " (exactly one key)");
    const auto entry = *t->begin();  // a pair of references into the table
    const toml::key& key = entry.first;
    const toml::node& list = entry.second;
    const std::string p = child(path, key.str());
    NetworkPolicy policy;
    if (key.str() == "allow") {
        policy.kind = NetworkPolicy::Kind::AllowList;
    } else if (key.str() == "deny") {
        policy.kind = NetworkPolicy::Kind::DenyList;
    } else {
        return unknown_key(key, path, {"allow", "deny"});
    }
    const toml::array* hosts = list.as_array();
    if (!hosts) {
        return error(list.source(), p,
                     std::string("expected an array of hosts, got ") + type_name(list));
    }
    if (hosts->empty()) {
        return error(list.source(), p, "the host list is empty (use \"denied\" or \"full\")");
    }
    for (const toml::node& h : *hosts) {
        RTFS_TRY(std::string host, string(h, p));
        auto entry = parse_host_entry(host);
        if (!entry) return error(h.source(), p, entry.error().message);
        policy.hosts.push_back(std::move(*entry));
    }
    return policy;
}

Expected<FileSystemPolicy> SettingsReader::read_fs(const toml::node& node,
                                                   const std::string& path) {
    constexpr const char* kForms =
        "expected \"none\", \"full\", { read_only = [PATH, ...] }, { read_write = [PATH, ...] } "
        "or both";
    if (const auto* s = node.as_string()) {
        auto policy = FileSystemPolicy::parse(s->get());
        if (!policy) return error(node.source(), path, policy.error().message);
        return *policy;
    }
    const toml::table* t = node.as_table();
    if (!t) return error(node.source(), path, std::string(kForms) + ", got " + type_name(node));
    if (t->empty()) return error(node.source(), path, std::string(kForms) + " (an empty table)");
    std::optional<FileSystemPolicy> read_only, read_write;
    for (const auto& [key, list] : *t) {
        const std::string p = child(path, key.str());
        FileSystemPolicy policy;
        if (key.str() == "read_only") {
            policy.kind = FileSystemPolicy::Kind::ReadOnly;  // an empty list: the system dirs
        } else if (key.str() == "read_write") {
            policy.kind = FileSystemPolicy::Kind::ReadWrite;
        } else {
            return unknown_key(key, path, {"read_only", "read_write"});
        }
        const toml::array* paths = list.as_array();
        if (!paths) {
            return error(list.source(), p,
                         std::string("expected an array of paths, got ") + type_name(list));
        }
        if (paths->empty() && policy.kind == FileSystemPolicy::Kind::ReadWrite) {
            return error(list.source(), p, "read_write needs at least one path");
        }
        for (const toml::node& entry : *paths) {
            RTFS_TRY(std::string raw, string(entry, p));
            auto normalized = normalize_policy_path(raw);
            if (!normalized) return error(entry.source(), p, normalized.error().message);
            policy.paths.push_back(std::move(*normalized));
        }
        (policy.kind == FileSystemPolicy::Kind::ReadOnly ? read_only : read_write) = policy;
    }
    if (read_only && read_write) {
        auto both = FileSystemPolicy::combine(*read_only, *read_write);
        if (!both) return error(node.source(), path, both.error().message);
        return *both;
    }
    return read_only ? *read_only : *read_write;
}

Expected<std::map<std::string, std::string>> SettingsReader::read_env(const toml::node& node,
                                                                      const std::string& path) {
    RTFS_TRY(const toml::table* t, table(node, path));
    std::map<std::string, std::string> env;
    for (auto&& [key, value] : *t) {
        RTFS_TRY(env[std::string(key.str())], string(value, child(path, key.str())));
    }
    return env;
}

Expected<json> SettingsReader::to_json(const toml::node& node, const std::string& path) {
    switch (node.type()) {
        case toml::node_type::string:
            return json(node.as_string()->get());
        case toml::node_type::integer:
            return json(node.as_integer()->get());
        case toml::node_type::floating_point:
            return json(node.as_floating_point()->get());
        case toml::node_type::boolean:
            return json(node.as_boolean()->get());
        case toml::node_type::array: {
            json out = json::array();
            size_t i = 0;
            for (const toml::node& item : *node.as_array()) {
                RTFS_TRY(json v, to_json(item, path + "[" + std::to_string(i++) + "]"));
                out.push_back(std::move(v));
            }
            return out;
        }
        case toml::node_type::table: {
            json out = json::object();
            for (auto&& [key, value] : *node.as_table()) {
                RTFS_TRY(out[std::string(key.str())], to_json(value, child(path, key.str())));
            }
            return out;
        }
        default:
            return error(node.source(), path,
                         std::string(type_name(node)) + " values are not supported here");
    }
}

// JSON -> TOML, value for value; null has no TOML form. Policy values are at most a table of
// arrays deep; a deeper value is refused before any recursion could exhaust the stack.
constexpr int kMaxJsonDepth = 4;

Expected<std::unique_ptr<toml::node>> to_toml(const json& j, const std::string& path,
                                              int depth = 0) {
    auto bad = [&](const char* what) {
        return fail(Failure::Kind::InvalidConfig, path + ": " + what);
    };
    if (depth > kMaxJsonDepth) return bad("nested too deeply");
    switch (j.type()) {
        case json::value_t::string:
            return std::unique_ptr<toml::node>(new toml::value<std::string>(j.get<std::string>()));
        case json::value_t::boolean:
            return std::unique_ptr<toml::node>(new toml::value<bool>(j.get<bool>()));
        case json::value_t::number_integer:
            return std::unique_ptr<toml::node>(new toml::value<int64_t>(j.get<int64_t>()));
        case json::value_t::number_unsigned: {
            auto u = j.get<uint64_t>();
            if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
                return bad("the number is too large");
            return std::unique_ptr<toml::node>(new toml::value<int64_t>(static_cast<int64_t>(u)));
        }
        case json::value_t::number_float:
            return std::unique_ptr<toml::node>(new toml::value<double>(j.get<double>()));
        case json::value_t::array: {
            auto arr = std::make_unique<toml::array>();
            for (const auto& e : j) {
                RTFS_TRY(auto n, to_toml(e, path, depth + 1));
                arr->push_back(std::move(*n));
            }
            return std::unique_ptr<toml::node>(arr.release());
        }
        case json::value_t::object: {
            auto t = std::make_unique<toml::table>();
            for (const auto& [k, v] : j.items()) {
                RTFS_TRY(auto n, to_toml(v, child(path, k), depth + 1));
                t->insert(k, std::move(*n));
            }
            return std::unique_ptr<toml::node>(t.release());
        }
        default:
            return bad("null is not a value");
    }
}

}  // namespace

std::span<const char* const> config_override_keys() { return {kOverrideKeys.begin(), kOverrideKeys.size()}; }

Expected<ConfigOverride> read_config_override(const nlohmann::json& object) {
    // The values go to the reader as nodes, never through TOML text: toml++ 3.3.0 prints some
    // strings and keys so that they read back changed ("\nX" as "X", a key "\tA" as "A") or not
    // at all (a key "it's").
    toml::table entry;
    for (const char* key : kOverrideKeys) {
        auto it = object.find(key);
        if (it == object.end()) continue;
        RTFS_TRY(auto node, to_toml(*it, key));
        entry.insert(key, std::move(*node));
    }
    return SettingsReader(SettingsReader::Unlocated{}).read_override(entry, "");
}

// toml++ 3.3.0 reached __builtin_unreachable() here for most non-ASCII characters (undefined
// behaviour on a settings file with one outside a string); the build's copy answers "no"
// (microvm/CMakeLists.txt). Without it this is no constant expression and the build fails.
static_assert(!toml::impl::is_non_ascii_horizontal_whitespace(U'\u0496') &&
              !toml::impl::is_non_ascii_horizontal_whitespace(U'\u00A7'));

namespace {

// Each segment of a dotted key or table header ([a.a.a...]) is a table nested in the last, and
// toml++ recurses once per level (when it parses and when it frees them), bounding only arrays
// and inline tables: a 100 KB line `a.a.a... = 1` overflowed the stack, and 12 MB of them took
// 1.4 GB (fuzz campaign, 2026-12-07). A settings file needs a few dozen dots: at most
// kMaxSettingsDots outside strings and comments (floats and times count too), or the line of
// the first dot past them.
constexpr size_t kMaxSettingsDots = 4096;

std::optional<size_t> line_past_dot_budget(std::string_view text) {
    size_t dots = 0, line = 1;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '\n') {
            ++line;
        } else if (c == '#') {  // a comment, to the end of the line
            while (i + 1 < text.size() && text[i + 1] != '\n') ++i;
        } else if (c == '"' || c == '\'') {  // a string: basic or literal, one line or multi-line
            const bool multi = text.substr(i, 3) == std::string_view(c == '"' ? "\"\"\"" : "'''");
            const std::string_view close = multi ? text.substr(i, 3) : text.substr(i, 1);
            for (i += close.size(); i < text.size() && text.substr(i, close.size()) != close; ++i) {
                if (c == '"' && text[i] == '\\' && i + 1 < text.size()) ++i;  // an escape (none in a literal string)
                if (text[i] == '\n') ++line;
            }
            i += close.size() - 1;
        } else if (c == '.' && ++dots > kMaxSettingsDots) {
            return line;
        }
    }
    return std::nullopt;
}

}  // namespace

Expected<Settings> parse_settings(std::string_view toml_text, std::string_view file_name) {
    SettingsReader reader(file_name);
    if (auto line = line_past_dot_budget(toml_text))
        return fail(Failure::Kind::InvalidConfig,
                    std::string(file_name) + ":" + std::to_string(*line) + ": more than " +
                        std::to_string(kMaxSettingsDots) +
                        " dots outside strings and comments (each segment of a dotted key nests a table)");
    toml::table root;
    // toml++ reports syntax errors by exception; they stop here.
    try {
        root = toml::parse(toml_text, file_name);
    } catch (const toml::parse_error& e) {
        return fail(Failure::Kind::InvalidConfig, reader.location(e.source()) + ": syntax error: " +
                                                      std::string(e.description()));
    }
    return reader.read(root);
}

}  // namespace microvm
