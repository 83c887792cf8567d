// Random numbers and names from the kernel (getrandom): session ids a client must not guess,
// temporary names another writer must not predict, lease numbers that must not collide.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace microvm {

// Fills buffer from getrandom; where the kernel cannot (never expected), from
// std::random_device, which is still unique enough, if not secret.
void random_bytes(void* buffer, size_t size);

// A uniformly drawn 32-bit number.
uint32_t random_u32();

// 2 * bytes lowercase hexadecimal digits drawn from random_bytes.
std::string random_hex(size_t bytes);

}  // namespace microvm
