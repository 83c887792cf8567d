// A minimal QMP client (QEMU's JSON control socket) for snapshots: the template VM's `migrate`
// to a file and a restored VM's `migrate-incoming`. Descriptors travel with `getfd`
// (SCM_RIGHTS): QEMU runs as an unprivileged uid under `-sandbox spawn=deny`, so it can neither
// open the root-only template files nor run `exec:` migrations. QEMU is as untrusted as the
// guest: every reply is bounded in size and waited for under a deadline.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "host/unique_fd.hpp"
#include "microvm/error.hpp"

namespace microvm::qemu {

class QmpClient {
  public:
    // Takes a connected socket: reads the greeting and negotiates capabilities.
    static Expected<QmpClient> open(host::UniqueFd socket, std::chrono::steady_clock::time_point deadline);

    // Runs one command and returns its "return" value; an "error" reply is a SetupError with
    // QEMU's description. With pass_fd >= 0 the descriptor goes along (for getfd).
    Expected<nlohmann::json> execute(const std::string& command, const nlohmann::json& arguments,
                                     std::chrono::steady_clock::time_point deadline, int pass_fd = -1);

  private:
    explicit QmpClient(host::UniqueFd fd) : fd_(std::move(fd)) {}
    Expected<nlohmann::json> next_reply(std::chrono::steady_clock::time_point deadline);
    host::UniqueFd fd_;
    std::string buffered_;
};

// The string member key of j, or "" when j is no object or the member is missing or of another
// type: QEMU's replies (a compromised QEMU is the guest's) and the template manifest are read
// with this, never with json::value(), which throws on a type mismatch.
inline std::string string_member(const nlohmann::json& j, const char* key) {
    if (!j.is_object()) return {};
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace microvm::qemu
