// A small JSON Schema validator for provider settings (private to microvm_core). It covers the
// keywords provider schemas use: type, properties, additionalProperties, required, enum, items,
// minimum, maximum, minLength. Other keywords (title, description, default) are ignored.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "microvm/error.hpp"

namespace microvm {

// Checks value against schema. Errors are InvalidConfig naming the offending key path, e.g.
// "kernel: expected string, got integer" or "unknown key 'kernal' (known: binary, kernel)".
Expected<void> validate_json_schema(const nlohmann::json& value, const nlohmann::json& schema,
                                    const std::string& path = "");

}  // namespace microvm
