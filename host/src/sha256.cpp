#include "host/sha256.hpp"
#include "microvm/hex.hpp"
#include "host/sys_error.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "rtfs/host/openssl_config.hpp"
#include "rtfs/host/shared_library.hpp"

namespace microvm::host {
namespace {

// libcrypto 3 (Debian's libssl3). Only the EVP digest calls, declared here so that the header
// (and a link-time dependency) is not needed.
constexpr const char* kSoname = "libcrypto.so.3";

struct Crypto {
    void* (*md_ctx_new)() = nullptr;
    void (*md_ctx_free)(void*) = nullptr;
    const void* (*sha256)() = nullptr;
    int (*digest_init_ex)(void*, const void*, void*) = nullptr;
    int (*digest_update)(void*, const void*, size_t) = nullptr;
    int (*digest_final_ex)(void*, unsigned char*, unsigned*) = nullptr;
    std::string error;  // empty when loaded
};

const Crypto& crypto() {
    static const Crypto loaded = [] {
        Crypto c;
        if (std::string why = rtfs::host::suppress_openssl_config(); !why.empty()) {
            c.error = why;
            return c;
        }
        // Never unloaded: OpenSSL keeps global state for the process's life.
        rtfs::host::SharedLibrary h = rtfs::host::open_shared_library(kSoname, "libssl3 (SHA-256)");
        h.bind("EVP_MD_CTX_new", c.md_ctx_new);
        h.bind("EVP_MD_CTX_free", c.md_ctx_free);
        h.bind("EVP_sha256", c.sha256);
        h.bind("EVP_DigestInit_ex", c.digest_init_ex);
        h.bind("EVP_DigestUpdate", c.digest_update);
        h.bind("EVP_DigestFinal_ex", c.digest_final_ex);
        c.error = std::move(h.error);
        return c;
    }();
    return loaded;
}

}  // namespace

struct Sha256::State {
    void* ctx = nullptr;
    ~State() {
        if (ctx) crypto().md_ctx_free(ctx);
    }
};

Sha256::Sha256(std::unique_ptr<State> state) : state_(std::move(state)) {}
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;
Sha256::~Sha256() = default;

Expected<Sha256> Sha256::start() {
    const Crypto& c = crypto();
    if (!c.error.empty()) return fail(Failure::Kind::SetupError, c.error);
    auto state = std::make_unique<State>();
    state->ctx = c.md_ctx_new();
    if (!state->ctx || c.digest_init_ex(state->ctx, c.sha256(), nullptr) != 1) {
        return fail(Failure::Kind::SetupError, "SHA-256 could not be started (libcrypto)");
    }
    return Sha256(std::move(state));
}

void Sha256::update(const void* data, size_t size) {
    crypto().digest_update(state_->ctx, data, size);
}

std::string Sha256::finish_hex() {
    unsigned char md[64];
    unsigned len = 0;
    if (crypto().digest_final_ex(state_->ctx, md, &len) != 1 || len != 32) return {};
    return hex_of(md, len);
}

Expected<std::string> sha256_hex(std::string_view data) {
    RTFS_TRY(Sha256 h, Sha256::start());
    h.update(data.data(), data.size());
    return h.finish_hex();
}

Expected<std::string> sha256_hex_of_file(int fd) {
    RTFS_TRY(Sha256 h, Sha256::start());
    std::string buf(1 << 20, '\0');
    off_t at = 0;
    for (;;) {
        ssize_t n = ::pread(fd, buf.data(), buf.size(), at);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return sys_failure("reading to hash", errno);
        if (n == 0) break;
        h.update(buf.data(), static_cast<size_t>(n));
        at += n;
    }
    return h.finish_hex();
}

}  // namespace microvm::host
