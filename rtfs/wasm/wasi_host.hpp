// The capability host of the RTFS runtime compiled to wasm32-wasi. Every effect goes through WASI
// (console, files below the preopened directories, environment, clocks) or through the
// provider's "microvm" import (http-fetch), where the wasm provider applies the policy.
#pragma once

#include "rtfs/effects.hpp"
#include "rtfs/host.hpp"

namespace rtfs::wasm {

class WasiHost : public rtfs::Host {
public:
    Result<Value> call(std::string_view capability_id, std::span<const Value> args) override;
    // File operations performed (network requests are recorded by the provider's import).
    const EffectLog& effects() const { return log_; }

private:
    Result<Value> http_fetch(std::span<const Value> args);
    Result<Value> read_file(std::span<const Value> args);
    Result<Value> write_file(std::span<const Value> args);
    Result<Value> file_exists(std::span<const Value> args);
    EffectLog log_;
};

}  // namespace rtfs::wasm
