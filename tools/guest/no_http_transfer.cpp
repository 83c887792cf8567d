// The static VM agent's HTTP: none (see CMakeLists.txt: Debian has no static libcurl
// dependencies). perform_transfer fails with a clear message, and the few libcurl URL calls of
// rtfs_host's http-fetch are defined here so libcurl.a is never searched: curl_url() has no
// handle to give, so http-fetch ends before any transfer. The qemu provider refuses RTFS with a
// network policy other than deny, so a user meets the refusal up front, not this.
#include <curl/curl.h>

#include "rtfs/host/http_transfer.hpp"

namespace rtfs::host {

Expected<HttpReply, TransferFailure> perform_transfer(const HttpExchange&, const HostOptions&) {
    return unexpected(TransferFailure{
        TransferFailure::Why::Failed,
        "HTTP is not available to RTFS in the VM agent (its static build has no libcurl)"});
}

}  // namespace rtfs::host

extern "C" {
CURLU* curl_url(void) { return nullptr; }
void curl_url_cleanup(CURLU*) {}
CURLUcode curl_url_set(CURLU*, CURLUPart, const char*, unsigned int) {
    return CURLUE_OUT_OF_MEMORY;
}
CURLUcode curl_url_get(CURLU*, CURLUPart, char**, unsigned int) {
    return CURLUE_OUT_OF_MEMORY;
}
void curl_free(void*) {}
}
