// Bounds-checked reading and plain writing of the host-order binary files the wasm provider keeps
// in its trusted store (module_codec.hpp, guest_snapshot.hpp), and the checksum they carry.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace microvm::wasm::codec {

// Catches truncation and corruption of a file only this user could write (not forgery: anyone who
// can write the file could as well write a matching digest). Every step is a bijection of one
// lane's state, so changing any single 8-byte word always changes the result.
inline uint64_t checksum_of(std::string_view data) {
    constexpr uint64_t kP1 = 0x9E3779B185EBCA87ull, kP2 = 0xC2B2AE3D27D4EB4Full;
    auto rotl = [](uint64_t v, int r) { return (v << r) | (v >> (64 - r)); };
    uint64_t lanes[4] = {kP1, kP2, kP1 ^ kP2, ~kP1};
    size_t i = 0;
    for (; i + 32 <= data.size(); i += 32) {
        for (int k = 0; k < 4; ++k) {
            uint64_t word;
            std::memcpy(&word, data.data() + i + 8 * k, 8);
            lanes[k] = rotl(lanes[k] + word * kP2, 31) * kP1;
        }
    }
    uint64_t h = data.size() * kP1;
    for (uint64_t lane : lanes) h = rotl(h ^ lane, 27) * kP2 + kP1;
    for (; i < data.size(); ++i) h = rotl(h ^ static_cast<uint8_t>(data[i]), 23) * kP1;
    h ^= h >> 33;
    h *= kP2;
    h ^= h >> 29;
    return h;
}

// A stored file: an 8-byte magic naming its format, the checksum of the body, the body.
inline constexpr size_t kMagicBytes = 8;
inline std::string seal(const char (&magic)[kMagicBytes], const std::string& body) {
    std::string out(magic, kMagicBytes);
    const uint64_t sum = checksum_of(body);
    out.append(reinterpret_cast<const char*>(&sum), sizeof sum);
    return out + body;
}
// The body of bytes sealed with magic; false for another magic, a short file or a bad checksum.
inline bool unseal(std::string_view bytes, const char (&magic)[kMagicBytes], std::string_view& body) {
    if (bytes.size() < kMagicBytes + sizeof(uint64_t) || std::memcmp(bytes.data(), magic, kMagicBytes) != 0) {
        return false;
    }
    uint64_t sum;
    std::memcpy(&sum, bytes.data() + kMagicBytes, sizeof sum);
    body = bytes.substr(kMagicBytes + sizeof sum);
    return checksum_of(body) == sum;
}

class Writer {
  public:
    template <class T>
    void pod(T value) {
        static_assert(std::is_trivially_copyable_v<T>);
        out_.append(reinterpret_cast<const char*>(&value), sizeof value);
    }
    void bytes(const void* data, size_t size) {
        pod(static_cast<uint32_t>(size));
        out_.append(static_cast<const char*>(data), size);
    }
    void string(std::string_view s) { bytes(s.data(), s.size()); }
    template <class T, class F>
    void vec(const std::vector<T>& items, F&& each) {
        pod(static_cast<uint32_t>(items.size()));
        for (const T& item : items) each(item);
    }
    bool fits() const { return ok_; }
    void refuse() { ok_ = false; }
    std::string take() { return std::move(out_); }

  private:
    std::string out_;
    bool ok_ = true;
};

class Reader {
  public:
    explicit Reader(std::string_view in) : in_(in) {}
    bool ok() const { return ok_; }
    bool at_end() const { return pos_ == in_.size(); }
    void refuse() { ok_ = false; }

    template <class T>
    T pod() {
        static_assert(std::is_trivially_copyable_v<T>);
        T value{};
        if (!ok_ || in_.size() - pos_ < sizeof value) {
            ok_ = false;
            return value;
        }
        std::memcpy(&value, in_.data() + pos_, sizeof value);
        pos_ += sizeof value;
        return value;
    }
    // A count of elements that take at least min_bytes each: no more than the bytes left allow,
    // so a forged count cannot make the reader allocate beyond the file's size.
    uint32_t count(size_t min_bytes) {
        uint32_t n = pod<uint32_t>();
        if (!ok_ || n > (in_.size() - pos_) / min_bytes) {
            ok_ = false;
            return 0;
        }
        return n;
    }
    std::string_view bytes() {
        uint32_t n = count(1);
        std::string_view view = in_.substr(pos_, n);
        pos_ += n;
        return view;
    }
    std::string string() { return std::string(bytes()); }
    template <class T, class F>
    std::vector<T> vec(size_t min_bytes, F&& each) {
        std::vector<T> items;
        uint32_t n = count(min_bytes);
        items.reserve(n);
        for (uint32_t i = 0; i < n && ok_; ++i) items.push_back(each());
        return items;
    }
    // An enum stored as its underlying value, accepted only up to last.
    template <class E>
    E enumerator(E last) {
        auto raw = pod<uint32_t>();
        if (raw > static_cast<uint32_t>(last)) ok_ = false;
        return ok_ ? static_cast<E>(raw) : E{};
    }

  private:
    std::string_view in_;
    size_t pos_ = 0;
    bool ok_ = true;
};

}  // namespace microvm::wasm::codec
