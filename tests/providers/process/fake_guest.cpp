// A stand-in for the RTFS guest runner (tools/guest) that exercises the provider's side of the
// guest protocol only: it decodes the Exec frame from stdin and answers one Result frame on fd 3, without
// evaluating anything. The answer echoes the job so the test can check what arrived:
//   "(deny)"  -> a SecurityViolation error result
//   "(crash)" -> exit 3 without a frame
//   other     -> ok, value "<source>|<args joined by ,>|<network policy>|<timeout ms>"
#include <unistd.h>

#include <iostream>
#include <iterator>

#include "microvm/guest_protocol.hpp"

int main() {
    using namespace microvm::guest;
    std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    auto exec = read_exec_frame(input);
    const Job* job = exec ? &exec->job : nullptr;
    Result r;
    if (!exec) {
        r.error_kind = "guest_protocol";
        r.error_message = exec.error().message;
    } else if (job->source == "(crash)") {
        return 3;
    } else if (job->source == "(deny)") {
        r.error_kind = "SecurityViolation";
        r.error_message = "denied";
    } else {
        std::string args;
        for (const std::string& a : job->args) args += (args.empty() ? "" : ",") + a;
        r.ok = true;
        r.value = job->source + "|" + args + "|" + job->network_policy + "|" +
                  std::to_string(job->timeout_ms);
    }
    std::string out = result_frame(r);
    return ::write(kResultFd, out.data(), out.size()) == static_cast<ssize_t>(out.size()) ? 0 : 1;
}
