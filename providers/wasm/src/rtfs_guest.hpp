// The RTFS runtime compiled to wasm32-wasi (rtfs-guest.wasm), compiled once per provider and
// recompiled only when the file changes (path, size and mtime), so an RTFS run skips hashing and
// decoding a megabyte-sized module.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "microvm/error.hpp"

namespace microvm::wasm {

struct CompiledModule;

class RtfsGuestModule {
  public:
    Expected<std::shared_ptr<const CompiledModule>> get();
    void clear();

  private:
    std::mutex mu_;
    std::string path_;
    int64_t size_ = -1;
    int64_t mtime_ns_ = -1;
    std::shared_ptr<const CompiledModule> module_;
};

}  // namespace microvm::wasm
