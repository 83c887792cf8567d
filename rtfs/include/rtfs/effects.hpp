// Records of the effects capability calls performed, so that providers can report them in
// execution metadata ("what did this program touch?").
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rtfs {

struct NetworkRequest {
    std::string url;
    std::string method;
    int status = 0;          // HTTP status, 0 when no response (refused, failed, inside a tunnel)
    uint64_t bytes = 0;      // response bytes: the body (http-fetch), all the server sent (proxy)
    std::string error;       // empty on success
    // Filled by the egress proxy, one record per connection attempt. Producers that leave
    // `allowed` unset (http-fetch, older guests) leave them all at their defaults, and the JSON
    // output omits them, so records and output of those producers are unchanged.
    std::optional<bool> allowed;     // did the proxy let the connection through
    std::string rule;                // the rule that decided ("allow entry *.example.com", ...)
    std::string host;                // the target as named, canonical (A-label name or IP)
    int port = 0;
    std::string address;             // the address connected to ("93.184.216.34:443"), if any
    uint64_t bytes_sent = 0;         // program -> server
    uint64_t bytes_received = 0;     // server -> program
    std::chrono::nanoseconds duration{0};
};

struct FileOperation {
    std::string path;
    std::string operation;   // "read", "write", "exists"
    uint64_t bytes = 0;
    std::string error;
};

struct EffectLog {
    std::vector<NetworkRequest> network_requests;
    std::vector<FileOperation> file_operations;
};

}  // namespace rtfs
