// Bounds-checked access to a module's linear memory from host functions. Every guest pointer is
// checked against the current memory size; an out-of-range access is reported (the host function
// then returns EFAULT), never performed.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>
#include <type_traits>

#include "wabt/interp/interp.h"

namespace microvm::wasm {

class GuestMemory {
  public:
    GuestMemory() = default;
    explicit GuestMemory(wabt::interp::Memory* memory) : memory_(memory) {}

    bool present() const { return memory_ != nullptr; }
    uint64_t size() const { return memory_ ? memory_->ByteSize() : 0; }

    // Pointer to [ptr, ptr + len) inside linear memory, or nullptr when out of range.
    uint8_t* span(uint64_t ptr, uint64_t len) const {
        if (!memory_ || ptr > size() || len > size() - ptr) return nullptr;
        return memory_->UnsafeData() + ptr;
    }

    template <class T>
    bool load(uint64_t ptr, T& out) const {
        static_assert(std::is_trivially_copyable_v<T>);
        const uint8_t* p = span(ptr, sizeof(T));
        if (!p) return false;
        std::memcpy(&out, p, sizeof(T));  // wasm and x86-64 are both little-endian
        return true;
    }
    template <class T>
    bool store(uint64_t ptr, T value) const {
        static_assert(std::is_trivially_copyable_v<T>);
        uint8_t* p = span(ptr, sizeof(T));
        if (!p) return false;
        std::memcpy(p, &value, sizeof(T));
        return true;
    }
    bool write(uint64_t ptr, const void* data, uint64_t len) const {
        uint8_t* p = span(ptr, len);
        if (!p) return false;
        if (len > 0) std::memcpy(p, data, len);
        return true;
    }
    std::optional<std::string_view> string(uint64_t ptr, uint64_t len) const {
        const uint8_t* p = span(ptr, len);
        if (!p) return std::nullopt;
        return std::string_view(reinterpret_cast<const char*>(p), len);
    }

  private:
    wabt::interp::Memory* memory_ = nullptr;
};

}  // namespace microvm::wasm
