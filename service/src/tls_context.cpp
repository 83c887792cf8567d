#include "tls_context.hpp"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <climits>
#include <string>

#include "microvm/private_file.hpp"
#include "microvm/trusted_path.hpp"

namespace microvm::service {

namespace {

// A PEM key file of ordinary size; a larger one is refused before OpenSSL parses it.
constexpr size_t kMaxKeyFileBytes = 1 << 20;

std::string ssl_error() {
    unsigned long e = ERR_get_error();
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    return buf;
}

// No passphrase: OpenSSL's default callback would prompt on the daemon's terminal.
int no_passphrase(char*, int, int, void*) { return 0; }

}  // namespace

Expected<TlsContext> make_tls_context(const TlsFiles& files) {
    TlsContext ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
    if (!ctx) return fail(Failure::Kind::SetupError, "TLS: " + ssl_error());
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), files.cert_file.c_str()) != 1)
        return fail(Failure::Kind::SetupError, "TLS certificate " + files.cert_file + ": " + ssl_error());

    const std::string what = "TLS key " + files.key_file;
    RTFS_TRY(const std::string key_real, owned_real_path(files.key_file, "TLS key"));
    auto pem = read_private_file(key_real, what, kMaxKeyFileBytes);
    if (!pem) return fail(Failure::Kind::SetupError, pem.error().message);
    std::unique_ptr<BIO, int (*)(BIO*)> bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())), BIO_free);
    std::unique_ptr<EVP_PKEY, void (*)(EVP_PKEY*)> key(
        bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr) : nullptr, EVP_PKEY_free);
    OPENSSL_cleanse(pem->data(), pem->size());
    if (!key || SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1)
        return fail(Failure::Kind::SetupError, what + ": " + ssl_error());
    if (SSL_CTX_check_private_key(ctx.get()) != 1)
        return fail(Failure::Kind::SetupError, what + " does not match the certificate");
    return ctx;
}

}  // namespace microvm::service
