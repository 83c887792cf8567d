// OpenSSL without its configuration file. On first use libcrypto reads openssl.cnf (/etc/ssl,
// or $OPENSSL_CONF), and a configuration can load provider and engine modules: code the host
// process runs with its authority. A sandbox granted rw= over /etc/ssl planted a config loading
// its own module, which root's next run executed (red team, 2026-12-04). The project needs
// nothing from that file (SHA-256, libcurl's TLS, microvmd's TLS), so every process suppresses
// it before anything initialises OpenSSL.
#pragma once

#include <string>

namespace rtfs::host {

// Opens libcrypto (once) and initialises it with OPENSSL_INIT_NO_LOAD_CONFIG, so that no later
// initialisation (libcurl's, cpp-httplib's) reads a configuration file. Empty on success, else
// why not (libcrypto missing: then nothing that reads the file can load either).
std::string suppress_openssl_config();

}  // namespace rtfs::host
