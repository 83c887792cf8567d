// The "microvm" import module: host services beyond WASI, under the execution's policy.
//
//   http_fetch(req_ptr: i32, req_len: i32, resp_len_ptr: i32) -> errno
//       req is JSON {"url", "method" (default "GET"), "headers": {name: value}, "body": ""}.
//       The host checks the URL's host with NetworkPolicy::permits before any connection,
//       records the request in metadata.network_requests, performs it with libcurl (no
//       redirects, http/https only, response body <= 16 MiB, bounded by the run's deadline) and
//       keeps the response JSON, whose length it stores at resp_len_ptr:
//         errno 0            {"status": 200, "headers": {name: value}, "body": "..."}
//         errno ENOTCAPABLE  {"error": "..."}  the network policy denies the host
//         errno EINVAL       {"error": "..."}  malformed request JSON or URL
//         errno EIO          {"error": "..."}  the request failed (connection, timeout, size)
//   http_response_read(buf_ptr: i32, buf_len: i32) -> errno
//       Copies the kept response JSON into the buffer and forgets it. EOVERFLOW (nothing
//       copied) when buf_len is too small, EBADF when there is no response to read.
#pragma once

#include <string_view>

#include "host_function.hpp"

namespace microvm::wasm {

inline constexpr std::string_view kMicrovmModule = "microvm";

const HostFunction* find_microvm_function(std::string_view name);

}  // namespace microvm::wasm
