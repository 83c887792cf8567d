// The TLS server context of microvmd's TCP listeners, from the operator's certificate chain and
// private key.
#pragma once

#include <openssl/ssl.h>

#include <memory>

#include "microvm/error.hpp"
#include "service/http_frontend.hpp"

namespace microvm::service {

using TlsContext = std::unique_ptr<SSL_CTX, void (*)(SSL_CTX*)>;

// TLS 1.2 at least, no renegotiation. The key is a file of root's or this user's, in
// directories only they may change (a sticky /tmp aside, as for --state-dir), readable by nobody
// else, and the file judged is the file loaded (microvm/private_file.hpp). An encrypted key is
// refused, never prompted for. SetupError naming the file otherwise.
Expected<TlsContext> make_tls_context(const TlsFiles& files);

}  // namespace microvm::service
