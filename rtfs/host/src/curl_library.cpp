#include "rtfs/host/curl_library.hpp"

#include <mutex>

#include "rtfs/host/openssl_config.hpp"
#include "rtfs/host/shared_library.hpp"

namespace rtfs::host {
namespace {

// The soname of libcurl 4 (Debian's libcurl4 / libcurl3-gnutls provide it).
constexpr const char* kSoname = "libcurl.so.4";

struct Loaded {
    CurlLibrary lib{};
    std::string error;  // empty when loaded
};

Loaded load() {
    Loaded l;
    // Never unloaded: curl keeps global state (TLS library, DNS threads) for the process's life.
    SharedLibrary h = open_shared_library(kSoname, "libcurl4 (the HTTP client library)");
    if (!h.error.empty()) {
        l.error = std::move(h.error);
        return l;
    }
    decltype(&::curl_global_init) global_init = nullptr;
    CurlLibrary& c = l.lib;
    bool ok = h.bind("curl_global_init", global_init) & h.bind("curl_easy_init", c.easy_init) &
              h.bind("curl_easy_cleanup", c.easy_cleanup) & h.bind("curl_easy_setopt", c.easy_setopt) &
              h.bind("curl_easy_perform", c.easy_perform) & h.bind("curl_easy_getinfo", c.easy_getinfo) &
              h.bind("curl_easy_strerror", c.easy_strerror) &
              h.bind("curl_slist_append", c.slist_append) &
              h.bind("curl_slist_free_all", c.slist_free_all) & h.bind("curl_url", c.url) &
              h.bind("curl_url_cleanup", c.url_cleanup) & h.bind("curl_url_set", c.url_set) &
              h.bind("curl_url_get", c.url_get) & h.bind("curl_free", c.free);
    l.error = std::move(h.error);
    if (!ok) return l;
    // Its TLS library (OpenSSL) initialised without reading openssl.cnf first.
    if (std::string why = suppress_openssl_config(); !why.empty()) {
        l.error = "libcurl's TLS library: " + why;
        return l;
    }
    if (global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) l.error = "libcurl failed to initialise";
    return l;
}

}  // namespace

Expected<const CurlLibrary*, std::string> curl_library() {
    static std::once_flag once;
    static Loaded loaded;
    std::call_once(once, [] { loaded = load(); });
    if (!loaded.error.empty()) return unexpected(loaded.error);
    return &loaded.lib;
}

}  // namespace rtfs::host
