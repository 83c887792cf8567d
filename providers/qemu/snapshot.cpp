#include "qemu/snapshot.hpp"

#include <thread>

namespace microvm::qemu {

Expected<void> save_state(QmpClient& qmp, int fd, std::chrono::steady_clock::time_point deadline) {
    RTFS_CHECK(qmp.execute("getfd", {{"fdname", "template"}}, deadline, fd));
    RTFS_CHECK(qmp.execute("migrate", {{"uri", "fd:template"}}, deadline));
    for (;;) {
        RTFS_TRY(nlohmann::json info, qmp.execute("query-migrate", nlohmann::json::object(), deadline));
        const std::string status = string_member(info, "status");
        if (status == "completed") return {};
        if (status == "failed" || status == "cancelled") {
            return fail(Failure::Kind::SetupError,
                        "template migration " + status + ": " + (string_member(info, "error-desc").empty() ? std::string("no reason given")
                                                                   : string_member(info, "error-desc")));
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return fail(Failure::Kind::SetupError, "template migration did not complete in time");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

}  // namespace microvm::qemu
