#include "module_store.hpp"

#include "module_codec.hpp"
#include "wabt/config.h"

namespace microvm::wasm {
namespace {

// Bounds what a planted file can make the host read and allocate (the RTFS guest's is 1.9 MiB;
// a module at the engine's 16 MiB input limit decodes to a few times that).
constexpr size_t kMaxStoredModuleBytes = 64u << 20;

}  // namespace

std::string stored_module_key(const std::string& module_sha256,
                              const nlohmann::json& binary_identity) {
    return nlohmann::json{{"format", 1},
                          {"wabt", WABT_VERSION_STRING},
                          {"microvm", binary_identity},
                          {"module_sha256", module_sha256}}
        .dump();
}

std::shared_ptr<const CompiledModule> load_stored_module(const std::string& dir,
                                                         const std::string& name,
                                                         std::string_view key) {
    auto bytes = host::read_trusted_file(dir + "/" + name, kMaxStoredModuleBytes);
    if (!bytes) return nullptr;
    return decode_module(*bytes, key);
}

bool store_module(const std::string& dir, const std::string& name, std::string_view key,
                  const CompiledModule& module) {
    auto bytes = encode_module(module, key);
    if (!bytes || bytes->size() > kMaxStoredModuleBytes) return false;
    // A module the decoder's code check refuses (one using instructions it does not check) would
    // be decoded afresh and stored again by every run: not kept at all.
    if (!decode_module(*bytes, key)) return false;
    return host::write_file_atomically(dir + "/" + name, *bytes);
}

}  // namespace microvm::wasm
