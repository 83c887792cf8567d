// Records of the effects capability calls performed, so that providers can report them in
// execution metadata ("what did this program touch?").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rtfs {

struct NetworkRequest {
    std::string url;
    std::string method;
    int status = 0;          // HTTP status, 0 when no response (refused, failed)
    uint64_t bytes = 0;      // response body bytes
    std::string error;       // empty on success
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
