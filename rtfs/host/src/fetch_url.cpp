#include "rtfs/host/fetch_url.hpp"

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "rtfs/ascii_text.hpp"
#include "rtfs/host/curl_library.hpp"

namespace rtfs::host {
namespace {

struct UrlDeleter {
    const CurlLibrary* curl;
    void operator()(CURLU* u) const { curl->url_cleanup(u); }
};

std::string url_part(const CurlLibrary& curl, CURLU* u, CURLUPart part, unsigned flags = 0) {
    char* text = nullptr;
    if (curl.url_get(u, part, &text, flags) != CURLUE_OK || !text) return {};
    std::string s = text;
    curl.free(text);
    return s;
}

// Whether the URL has the part at all, even empty ("http://@host/" has an empty user).
bool has_part(const CurlLibrary& curl, CURLU* u, CURLUPart part) {
    char* text = nullptr;
    if (curl.url_get(u, part, &text, 0) != CURLUE_OK || !text) return false;
    curl.free(text);
    return true;
}

Unexpected<UrlRefusal> refused(UrlRefusal::Why why, std::string detail = {}) {
    return unexpected(UrlRefusal{why, std::move(detail)});
}

}  // namespace

Expected<FetchUrl, UrlRefusal> parse_fetch_url(const std::string& url) {
    auto loaded = curl_library();
    if (!loaded) return refused(UrlRefusal::Why::NoLibrary, loaded.error());
    const CurlLibrary& curl = **loaded;
    std::unique_ptr<CURLU, UrlDeleter> u(curl.url(), UrlDeleter{&curl});
    if (!u) return refused(UrlRefusal::Why::NoLibrary, "out of memory");
    // Any scheme parses, so that the refusal can name it.
    if (curl.url_set(u.get(), CURLUPART_URL, url.c_str(), CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
        return refused(UrlRefusal::Why::Invalid);
    FetchUrl out;
    out.scheme = lower_ascii(url_part(curl, u.get(), CURLUPART_SCHEME));
    if (out.scheme != "http" && out.scheme != "https") return refused(UrlRefusal::Why::Scheme, out.scheme);
    // User info is no part of what the policy judges, and the egress proxy takes no request
    // target carrying it: refused, never sent.
    if (has_part(curl, u.get(), CURLUPART_USER) || has_part(curl, u.get(), CURLUPART_PASSWORD))
        return refused(UrlRefusal::Why::UserInfo);
    out.host = url_part(curl, u.get(), CURLUPART_HOST);
    if (out.host.size() > 2 && out.host.front() == '[') out.host = out.host.substr(1, out.host.size() - 2);
    if (out.host.empty()) return refused(UrlRefusal::Why::NoHost);
    out.port = std::atoi(url_part(curl, u.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT).c_str());
    out.text = url_part(curl, u.get(), CURLUPART_URL);
    return out;
}

}  // namespace rtfs::host
