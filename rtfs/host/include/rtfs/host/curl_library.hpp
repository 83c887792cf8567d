// libcurl, loaded on the first HTTP request instead of at program start. Linking it pulls about
// thirty shared libraries (TLS, Kerberos, LDAP, SSH, ...) into every process, and the dynamic
// loader then spends milliseconds before main even for `microvm --version`; only a program that
// fetches needs them. The functions are called through this table; the types stay curl's own.
#pragma once

#include <curl/curl.h>

#include <string>

#include "rtfs/expected.hpp"

namespace rtfs::host {

struct CurlLibrary {
    decltype(&::curl_easy_init) easy_init;
    decltype(&::curl_easy_cleanup) easy_cleanup;
    decltype(&::curl_easy_setopt) easy_setopt;
    decltype(&::curl_easy_perform) easy_perform;
    decltype(&::curl_easy_getinfo) easy_getinfo;
    decltype(&::curl_easy_strerror) easy_strerror;
    decltype(&::curl_slist_append) slist_append;
    decltype(&::curl_slist_free_all) slist_free_all;
    decltype(&::curl_url) url;
    decltype(&::curl_url_cleanup) url_cleanup;
    decltype(&::curl_url_set) url_set;
    decltype(&::curl_url_get) url_get;
    decltype(&::curl_free) free;
};

// The library, loaded and globally initialised once (thread-safe), or why it cannot be loaded.
Expected<const CurlLibrary*, std::string> curl_library();

}  // namespace rtfs::host
