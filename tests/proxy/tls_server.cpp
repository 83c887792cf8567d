#include <httplib.h>
#include <openssl/pem.h>

#include "proxy_support.hpp"

namespace proxytest {

TlsServer::TlsServer(const std::vector<std::string>& names) : certificate_(make_certificate(names)) {
    BIO* cert_bio = BIO_new_mem_buf(certificate_.cert_pem.data(), static_cast<int>(certificate_.cert_pem.size()));
    BIO* key_bio = BIO_new_mem_buf(certificate_.key_pem.data(), static_cast<int>(certificate_.key_pem.size()));
    X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
    EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
    BIO_free(cert_bio);
    BIO_free(key_bio);
    server_ = std::make_unique<httplib::SSLServer>(cert, key);
    X509_free(cert);  // the server's SSL context holds its own references
    EVP_PKEY_free(key);
    if (!server_->is_valid()) throw std::runtime_error("cannot set up the TLS test server");
    server_->Get("/hello", [this](const httplib::Request&, httplib::Response& res) {
        ++hits_;
        res.set_content("hello over tls", "text/plain");
    });
    const int port = server_->bind_to_any_port("127.0.0.1");
    if (port <= 0) throw std::runtime_error("cannot bind a port on 127.0.0.1");
    port_ = static_cast<uint16_t>(port);
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

TlsServer::~TlsServer() {
    server_->stop();
    thread_.join();
}

}  // namespace proxytest
