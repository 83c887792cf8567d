#include "qemu/qmp_client.hpp"
#include "host/sys_error.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "host/fd_wait.hpp"
#include "microvm/json_shape.hpp"

namespace microvm::qemu {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxReplyBytes = 1 << 20;
// QEMU's replies to the commands used here nest a few levels; nlohmann::json copies, prints and
// compares recursively, so a reply nested hundreds of thousands deep (it fits in the size cap)
// would overflow the host's stack: judged by its shape first (microvm/json_shape.hpp).
constexpr int kMaxNesting = 32;


rtfs::Unexpected<Failure> qmp_error(const std::string& what) {
    return fail(Failure::Kind::SetupError, "QMP: " + what);
}


}  // namespace

Expected<QmpClient> QmpClient::open(host::UniqueFd socket, Clock::time_point deadline) {
    QmpClient c(std::move(socket));
    RTFS_TRY(nlohmann::json greeting, c.next_reply(deadline));
    if (!greeting.contains("QMP")) return qmp_error("no greeting");
    RTFS_TRY(nlohmann::json ignored, c.execute("qmp_capabilities", nlohmann::json::object(), deadline));
    (void)ignored;
    return c;
}

Expected<nlohmann::json> QmpClient::next_reply(Clock::time_point deadline) {
    size_t scanned = 0;  // buffered_ before this holds no newline
    for (;;) {
        size_t eol = buffered_.find('\n', scanned);
        if (eol != std::string::npos) {
            std::string line = buffered_.substr(0, eol);
            buffered_.erase(0, eol + 1);
            scanned = 0;
            if (json_shape(line).depth > kMaxNesting) return qmp_error("reply nested too deeply");
            auto j = nlohmann::json::parse(line, nullptr, false);
            if (j.is_discarded() || !j.is_object()) return qmp_error("undecodable reply");
            if (j.contains("event")) continue;  // asynchronous, not an answer
            return j;
        }
        scanned = buffered_.size();
        if (buffered_.size() > kMaxReplyBytes) return qmp_error("reply too large");
        if (!host::fd_ready(fd_.get(), POLLIN, deadline)) return qmp_error("no reply in time");
        char buf[8192];
        ssize_t n = ::read(fd_.get(), buf, sizeof buf);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) return qmp_error("QEMU closed its control socket");
        buffered_.append(buf, static_cast<size_t>(n));
    }
}

Expected<nlohmann::json> QmpClient::execute(const std::string& command, const nlohmann::json& arguments,
                                            Clock::time_point deadline, int pass_fd) {
    nlohmann::json req = {{"execute", command}};
    if (!arguments.empty()) req["arguments"] = arguments;
    std::string text = req.dump() + "\n";
    // Not host::send_all_until: the descriptor to pass rides on the first byte (SCM_RIGHTS).
    size_t sent = 0;
    while (sent < text.size()) {
        if (!host::fd_ready(fd_.get(), POLLOUT, deadline)) return qmp_error(command + ": cannot send in time");
        iovec iov{text.data() + sent, text.size() - sent};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
        if (pass_fd >= 0 && sent == 0) {  // the descriptor rides on the command's first byte
            msg.msg_control = control;
            msg.msg_controllen = sizeof control;
            cmsghdr* cm = CMSG_FIRSTHDR(&msg);
            cm->cmsg_level = SOL_SOCKET;
            cm->cmsg_type = SCM_RIGHTS;
            cm->cmsg_len = CMSG_LEN(sizeof(int));
            std::memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
        }
        ssize_t n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) return qmp_error(command + ": " + host::errno_text(errno));
        sent += static_cast<size_t>(n);
    }
    RTFS_TRY(nlohmann::json reply, next_reply(deadline));
    if (auto e = reply.find("error"); e != reply.end()) {
        // Only a string description is shown: anything else QEMU sent is not echoed.
        std::string desc = string_member(*e, "desc");
        return qmp_error(command + ": " + (desc.empty() ? std::string("error without a description") : desc));
    }
    auto value = reply.find("return");
    if (value == reply.end()) return qmp_error(command + ": reply without return");
    return std::move(*value);
}

}  // namespace microvm::qemu
