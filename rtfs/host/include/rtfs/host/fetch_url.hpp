// The URL of an HTTP fetch as libcurl parses it: what a network policy judges is what is sent.
// The one parse of RTFS's http-fetch (rtfs/host/src/http_fetch.cpp) and the wasm provider's
// microvm.http_fetch import (providers/wasm/src/http_fetch.cpp); each words its own errors.
#pragma once

#include <string>

#include "rtfs/expected.hpp"

namespace rtfs::host {

struct FetchUrl {
    std::string scheme;  // "http" or "https"
    std::string host;    // as libcurl reports it, IPv6 literals without their brackets
    int port = 0;        // explicit or the scheme's default
    std::string text;    // libcurl's normalised URL, which is what is sent
};

struct UrlRefusal {
    enum class Why {
        NoLibrary,  // libcurl could not be loaded
        Invalid,    // not an absolute URL
        Scheme,     // not http or https
        UserInfo,   // "name@" or "name:password@": never judged, never sent
        NoHost,
    } why = Why::Invalid;
    std::string detail;  // the scheme (Scheme), libcurl's loading error (NoLibrary), else empty
};

Expected<FetchUrl, UrlRefusal> parse_fetch_url(const std::string& url);

}  // namespace rtfs::host
