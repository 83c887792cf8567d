// SHA-256, used as the content key of compiled modules (a module is identified by its bytes).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace microvm::wasm {

using Digest = std::array<uint8_t, 32>;

Digest sha256(std::span<const uint8_t> data);
std::string to_hex(const Digest& d);

}  // namespace microvm::wasm
