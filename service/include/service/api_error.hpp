// An API error: the HTTP status and a JSON body {"error": {"code": ..., "message": ...}} with a
// stable code a client can branch on and a message a person can read.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "rtfs/expected.hpp"

namespace microvm::service {

struct ApiError {
    int http_status = 400;
    std::string code;  // "bad_request", "unknown_provider", "busy", "not_found", ...
    std::string message;

    nlohmann::json to_json() const {
        return {{"error", {{"code", code}, {"message", message}}}};
    }
};

template <class T>
using ApiExpected = rtfs::Expected<T, ApiError>;

inline rtfs::Unexpected<ApiError> api_fail(int status, std::string code, std::string message) {
    return {ApiError{status, std::move(code), std::move(message)}};
}

}  // namespace microvm::service
