#include "host/id_lease.hpp"

#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "microvm/random.hpp"
#include "host/sys_error.hpp"

namespace microvm::host {
namespace {

constexpr int kDraws = 64;

uint32_t random_number() { return random_u32() % kIdLeaseCount; }

}  // namespace

Expected<IdLease> IdLease::take() {
    int taken = 0;
    for (int draw = 0; draw < kDraws; ++draw) {
        // SOCK_STREAM and never listening: nobody can connect to or send to a claim.
        UniqueFd claim(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (!claim.valid()) return sys_failure("socket (an id lease)", errno);
        const uint32_t number = random_number();
        struct sockaddr_un addr {};
        addr.sun_family = AF_UNIX;
        // Abstract: a leading NUL byte, then the name (not NUL-terminated; its length counts).
        const int len = std::snprintf(addr.sun_path + 1, sizeof addr.sun_path - 1,
                                      "microvm-id-lease-%06x", number);
        const socklen_t size =
            static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + 1 + len);
        if (::bind(claim.get(), reinterpret_cast<struct sockaddr*>(&addr), size) == 0) {
            return IdLease(std::move(claim), number);
        }
        if (errno != EADDRINUSE) return sys_failure("bind (an id lease)", errno);
        ++taken;
    }
    return fail(Failure::Kind::SetupError,
                "no free sandbox id: " + std::to_string(taken) + " random draws were all held");
}

}  // namespace microvm::host
