#include "stdio_mode.hpp"

#include <unistd.h>

#include <cstdio>

#include "io.hpp"
#include "microvm/guest_protocol.hpp"
#include "rtfs_eval.hpp"

namespace microvm::guest {

int run_stdio_mode() {
    constexpr int kExitGuestFailure = 70;  // EX_SOFTWARE
    auto exec = read_exec_frame(read_until_eof(STDIN_FILENO, kMaxFrameBytes + 4));
    Result result;
    if (!exec) {
        result.error_kind = "ReadError";
        result.error_message = "invalid job: " + exec.error().message;
    } else if (exec->kind != Exec::Kind::Rtfs) {
        result.error_kind = "ReadError";
        result.error_message = std::string("invalid job: stdio mode runs rtfs, not ") +
                               to_string(exec->kind) + " (use a channel)";
    } else {
        result = evaluate(exec->job, STDOUT_FILENO, STDERR_FILENO);
    }
    if (!write_all(kResultFd, result_frame(result))) {
        std::perror("microvm-guest: writing the result");
        return kExitGuestFailure;
    }
    return 0;
}

}  // namespace microvm::guest
