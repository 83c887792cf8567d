#include "channel_mode.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdio>

#include "exec_run.hpp"
#include "microvm/guest_protocol.hpp"
#include "vm_mode.hpp"

namespace microvm::guest {
namespace {

constexpr int kExitProtocol = 76;  // EX_PROTOCOL

Hello hello() {
    Hello h;
    h.agent = "microvm-guest";
    h.kinds = {"rtfs", "program", "script"};
    return h;
}

// Setup (VMs): applied once, before the first Exec; answered with Ready or Error.
bool handle_setup(Channel& channel, const std::string& payload) {
    auto setup = decode_setup(payload);
    std::string error = setup ? apply_setup(*setup) : setup.error().message;
    if (!error.empty()) {
        return channel.send(agent::FrameType::Error,
                            encode_agent_error({Reason::SetupError, error}));
    }
    Ready r;
    struct utsname u {};
    if (::uname(&u) == 0) r.kernel = u.release;
    return channel.send(agent::FrameType::Ready, encode_ready(r));
}

}  // namespace

int run_channel_mode(Channel channel) {
    ::signal(SIGPIPE, SIG_IGN);  // a closed channel is a write error, not the agent's death
    if (!channel.send(agent::FrameType::Hello, encode_hello(hello()))) return kExitProtocol;
    agent::FrameDecoder from_host;
    bool exec_seen = false, setup_seen = false;
    for (;;) {
        agent::Frame f;
        auto status = from_host.next(f);
        if (status == agent::FrameDecoder::Status::Malformed) {
            std::fprintf(stderr, "microvm-guest: %s\n", from_host.error().c_str());
            return kExitProtocol;
        }
        if (status == agent::FrameDecoder::Status::NeedMore) {
            pollfd p{channel.fd(), POLLIN, 0};
            if (::poll(&p, 1, -1) < 0 && errno != EINTR) return kExitProtocol;
            if (!channel.receive(from_host)) {
                return from_host.pending() == 0 ? 0 : kExitProtocol;  // closed (mid-frame?)
            }
            continue;
        }
        switch (f.type) {
            case agent::FrameType::Setup:
                if (exec_seen || setup_seen) {
                    std::fprintf(stderr, "microvm-guest: Setup after %s\n",
                                 exec_seen ? "an Exec" : "a Setup");
                    return kExitProtocol;
                }
                setup_seen = true;
                if (!handle_setup(channel, f.payload)) return kExitProtocol;
                break;
            case agent::FrameType::Exec: {
                auto exec = decode_exec(f.payload);
                // A warm-up (the host's own, before Setup) leaves Setup still to come.
                if (!exec || !exec->warmup || setup_seen) exec_seen = true;
                bool ok = exec ? run_exec(channel, from_host, *exec, f.payload)
                               : channel.send(agent::FrameType::Error,
                                              encode_agent_error({Reason::InvalidProgram,
                                                                  exec.error().message}));
                if (!ok) return kExitProtocol;
                while (::waitpid(-1, nullptr, WNOHANG) > 0) {
                }  // orphans of the run (the VM's init inherits them)
                if (is_vm_init()) prepare_next_run(channel.fd());
                break;
            }
            case agent::FrameType::Stdin:
            case agent::FrameType::Kill:
                break;  // for a run that already ended
            default:
                std::fprintf(stderr, "microvm-guest: unexpected %s frame from the host\n",
                             agent::type_name(f.type));
                return kExitProtocol;
        }
    }
}

}  // namespace microvm::guest
