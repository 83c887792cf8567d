#include "rtfs/host/openssl_config.hpp"

#include <cstdint>
#include <mutex>

#include "rtfs/host/shared_library.hpp"

namespace rtfs::host {

std::string suppress_openssl_config() {
    static const std::string result = [] {
        // OpenSSL 3's init.c: config loading is a run-once that this option completes without
        // reading anything, so a later OPENSSL_INIT_LOAD_CONFIG finds it done.
        constexpr uint64_t kNoLoadConfig = 0x00000080L;  // OPENSSL_INIT_NO_LOAD_CONFIG
        SharedLibrary h = open_shared_library("libcrypto.so.3", "libssl3");
        int (*init_crypto)(uint64_t, const void*) = nullptr;
        if (!h.bind("OPENSSL_init_crypto", init_crypto)) return h.error;
        return init_crypto(kNoLoadConfig, nullptr) == 1 ? std::string() : std::string("OPENSSL_init_crypto failed");
    }();
    return result;
}

}  // namespace rtfs::host
