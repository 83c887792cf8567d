// SHA-256 from the system's OpenSSL (libcrypto.so.3), loaded on first use: linking it would make
// every run of the CLI pay for loading and relocating it (about 2.5 ms and 180 page faults
// here, more than the rest of `microvm --version`), while only template snapshots, audit records
// and bearer tokens need a digest.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "microvm/error.hpp"

namespace microvm::host {

class Sha256 {
  public:
    // SetupError when libcrypto cannot be loaded.
    static Expected<Sha256> start();
    Sha256(Sha256&&) noexcept;
    Sha256& operator=(Sha256&&) noexcept;
    ~Sha256();

    void update(const void* data, size_t size);
    // The digest as 64 lower-case hex digits; the object cannot be updated afterwards.
    std::string finish_hex();

  private:
    struct State;
    explicit Sha256(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;
};

// One-call forms.
Expected<std::string> sha256_hex(std::string_view data);
// What fd holds from offset 0, read with pread (the descriptor's offset stays where it is).
Expected<std::string> sha256_hex_of_file(int fd);

}  // namespace microvm::host
