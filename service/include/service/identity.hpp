// Who sent a request, as the transport proves it: the peer's uid and pid from SO_PEERCRED on a
// Unix socket; the remote address and the id of the bearer token it presented on TCP. Goes into
// every audit record.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace microvm::service {

struct ClientIdentity {
    std::string transport;  // "unix" | "tcp" | "tls" | "internal"
    std::optional<uid_t> uid;
    std::optional<pid_t> pid;
    std::string remote;    // "127.0.0.1:40312" on TCP
    std::string token_id;  // the id of the token presented (never the token itself)

    // Who owns what this client creates (a session): the token on TCP/TLS (one holder, whatever
    // its address), else the peer's uid on the Unix socket; the daemon itself for "internal".
    std::string principal() const {
        if (!token_id.empty()) return "token:" + token_id;
        if (uid) return "uid:" + std::to_string(*uid);
        return "transport:" + transport;
    }

    nlohmann::json to_json() const {
        nlohmann::json j = {{"transport", transport}};
        if (uid) j["uid"] = *uid;
        if (pid) j["pid"] = *pid;
        if (!remote.empty()) j["remote"] = remote;
        if (!token_id.empty()) j["token_id"] = token_id;
        return j;
    }
};

}  // namespace microvm::service
