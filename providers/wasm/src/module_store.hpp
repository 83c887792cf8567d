// Decoded modules kept between processes, so a one-shot run (`microvm eval -p wasm`) skips wabt's
// decoding and validation of the RTFS guest.
//
// A stored module is as powerful as the binary (the interpreter trusts decoded code), so it lives
// only where host/boot_cache.hpp's rules hold: a directory chain owned by root or the effective
// user and writable by neither group nor others, the file regular (never a symlink), owned the
// same way, mode 0600. Its key names everything that makes it stale: the module's SHA-256, the
// wabt version and the running microvm binary's identity (a new build invalidates it). Anything
// else, or any bytes that do not decode (module_codec.hpp), is ignored and the module decoded
// again.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "host/boot_cache.hpp"

namespace microvm::wasm {

struct CompiledModule;

// The key for the module with this SHA-256 (of its bytes), decoded by the microvm binary with
// this identity (the running one by default).
std::string stored_module_key(const std::string& module_sha256,
                              const nlohmann::json& binary_identity = host::own_binary_identity());

// nullptr when there is no trusted, current and intact module under name in dir.
std::shared_ptr<const CompiledModule> load_stored_module(const std::string& dir,
                                                         const std::string& name,
                                                         std::string_view key);
// Best effort (written atomically, mode 0600): false when it could not be kept, or when
// load_stored_module would refuse what it reads back (module_codec.hpp).
bool store_module(const std::string& dir, const std::string& name, std::string_view key,
                  const CompiledModule& module);

}  // namespace microvm::wasm
