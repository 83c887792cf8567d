#include "rtfs/host/curl_library.hpp"

#include <dlfcn.h>

#include <mutex>

namespace rtfs::host {
namespace {

// The soname of libcurl 4 (Debian's libcurl4 / libcurl3-gnutls provide it).
constexpr const char* kSoname = "libcurl.so.4";

struct Loaded {
    CurlLibrary lib{};
    std::string error;  // empty when loaded
};

template <class Fn>
bool bind(void* handle, const char* symbol, Fn& out, std::string& error) {
    void* p = ::dlsym(handle, symbol);
    if (!p) {
        if (error.empty()) error = std::string(kSoname) + " has no " + symbol;
        return false;
    }
    out = reinterpret_cast<Fn>(p);
    return true;
}

Loaded load() {
    Loaded l;
    // Never unloaded: curl keeps global state (TLS library, DNS threads) for the process's life.
    void* h = ::dlopen(kSoname, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char* why = ::dlerror();
        l.error = std::string("the HTTP client library cannot be loaded (") +
                  (why ? why : kSoname) + "); install libcurl4";
        return l;
    }
    decltype(&::curl_global_init) global_init = nullptr;
    CurlLibrary& c = l.lib;
    std::string& e = l.error;
    bool ok = bind(h, "curl_global_init", global_init, e) &
              bind(h, "curl_easy_init", c.easy_init, e) &
              bind(h, "curl_easy_cleanup", c.easy_cleanup, e) &
              bind(h, "curl_easy_setopt", c.easy_setopt, e) &
              bind(h, "curl_easy_perform", c.easy_perform, e) &
              bind(h, "curl_easy_getinfo", c.easy_getinfo, e) &
              bind(h, "curl_easy_strerror", c.easy_strerror, e) &
              bind(h, "curl_slist_append", c.slist_append, e) &
              bind(h, "curl_slist_free_all", c.slist_free_all, e) &
              bind(h, "curl_url", c.url, e) & bind(h, "curl_url_cleanup", c.url_cleanup, e) &
              bind(h, "curl_url_set", c.url_set, e) & bind(h, "curl_url_get", c.url_get, e) &
              bind(h, "curl_free", c.free, e);
    if (!ok) return l;
    if (global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) e = "libcurl failed to initialise";
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
