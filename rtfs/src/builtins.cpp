// The standard library table: every stdlib file contributes its builtins here, once.
#include <algorithm>
#include <string_view>
#include <vector>

#include "rtfs/interpreter.hpp"
#include "stdlib/stdlib.hpp"

namespace rtfs {

namespace {

std::vector<BuiltinDef> build_table() {
    std::vector<BuiltinDef> t;
    stdlib::add_numeric(t);
    stdlib::add_compare(t);
    stdlib::add_predicates(t);
    stdlib::add_strings(t);
    stdlib::add_collections(t);
    stdlib::add_higher_order(t);
    stdlib::add_sequences(t);
    stdlib::add_sorting(t);
    stdlib::add_function_builders(t);
    stdlib::add_json(t);
    stdlib::add_errors(t);
    stdlib::add_capabilities(t);
    std::sort(t.begin(), t.end(), [](const BuiltinDef& a, const BuiltinDef& b) {
        return std::string_view(a.name) < std::string_view(b.name);
    });
    return t;
}

const std::vector<BuiltinDef>& table() {
    static const std::vector<BuiltinDef> t = build_table();
    return t;
}

}  // namespace

std::span<const BuiltinDef> all_builtins() { return table(); }

const BuiltinDef* find_builtin(std::string_view name) {
    const auto& t = table();
    auto it = std::lower_bound(t.begin(), t.end(), name, [](const BuiltinDef& b, std::string_view n) {
        return std::string_view(b.name) < n;
    });
    if (it != t.end() && name == it->name) return &*it;
    return nullptr;
}

}  // namespace rtfs
