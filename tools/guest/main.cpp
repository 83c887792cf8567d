// The guest runner: reads a job (guest_protocol.hpp) from stdin, evaluates it with the RTFS
// runtime, performs capability calls itself (so the sandbox's own network and file-system
// boundaries bound them), and writes one result frame to fd 3. println output goes to stdout like
// any program's. Exit 0 once the frame is written; anything else means the guest itself failed.
// `microvm-guest --result-file PATH` writes the frame to PATH instead, for sandboxes that cannot
// hand the guest an extra descriptor (runsc passes only stdio into a container).
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iterator>
#include <string>

#include "microvm/capability_gates.hpp"
#include "microvm/guest_protocol.hpp"
#include "rtfs/host/big_stack.hpp"
#include "rtfs/host/default_host.hpp"
#include "rtfs/printer.hpp"
#include "rtfs/reader.hpp"

namespace {

using namespace microvm;

constexpr int kExitGuestFailure = 70;  // EX_SOFTWARE
constexpr size_t kMaxValueBytes = 16u << 20;  // printed result; longer ones end with "..."

std::string read_stdin() {
    std::string data;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        data.append(buf, static_cast<size_t>(n));
        if (data.size() > guest::kMaxFrameBytes) break;
    }
    return data;
}

bool write_all(int fd, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
        ssize_t n = ::write(fd, s.data() + off, s.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        off += static_cast<size_t>(n);
    }
    return true;
}

void write_text(int fd, std::string_view s) {
    size_t off = 0;
    while (off < s.size()) {
        ssize_t n = ::write(fd, s.data() + off, s.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        off += static_cast<size_t>(n);
    }
}

guest::Result evaluate(const guest::Job& job) {
    guest::Result out;
    rtfs::host::HostOptions ho;
    ho.out = [](std::string_view s) { write_text(STDOUT_FILENO, s); };
    ho.err = [](std::string_view s) { write_text(STDERR_FILENO, s); };
    std::optional<std::chrono::steady_clock::time_point> deadline;
    if (job.timeout_ms > 0)
        deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(job.timeout_ms);
    ho.deadline = deadline;
    // The sandbox is the hard boundary; the gate turns a forbidden host into a clear
    // SecurityViolation instead of a connection error.
    auto policy = NetworkPolicy::parse(job.network_policy.empty() ? "deny" : job.network_policy);
    ho.network_gate = network_gate(policy ? *policy : NetworkPolicy::denied());
    rtfs::host::DefaultHost host(std::move(ho));

    rtfs::EvalOptions eo;
    eo.security = job.runtime_context;
    eo.host = &host;
    eo.deadline = deadline;
    rtfs::Interpreter interp(eo);

    std::vector<rtfs::Value> args;
    for (const auto& a : job.args) {
        auto v = rtfs::read_one(a);
        if (!v) {
            out.error_kind = "ReadError";
            out.error_message = "argument '" + a + "': " + v.error().located_message();
            return out;
        }
        args.push_back(std::move(*v));
    }
    interp.define("*args*", rtfs::make_vector(std::move(args)));

    auto r = rtfs::host::eval_on_big_stack(interp, job.source);
    if (r) {
        out.ok = true;
        out.value = rtfs::print(*r, kMaxValueBytes);
    } else {
        out.error_kind = rtfs::to_string(r.error().kind());
        out.error_message = r.error().located_message();
    }
    out.effects = host.effects();
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 3 && std::string_view(argv[1]) == guest::kResultFileFlag) {
        int fd = ::open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || (fd != guest::kResultFd && ::dup2(fd, guest::kResultFd) < 0)) {
            std::perror("microvm-guest: opening the result file");
            return kExitGuestFailure;
        }
        if (fd != guest::kResultFd) ::close(fd);
    } else if (argc != 1) {
        std::fprintf(stderr, "usage: microvm-guest [%s PATH]\n", guest::kResultFileFlag);
        return kExitGuestFailure;
    }
    if (::fcntl(guest::kResultFd, F_GETFD) < 0) {
        std::fprintf(stderr, "microvm-guest: fd %d (the result channel) is not open\n",
                     guest::kResultFd);
        return kExitGuestFailure;
    }
    auto job = guest::decode_job(read_stdin());
    guest::Result result;
    if (!job) {
        result.error_kind = "ReadError";
        result.error_message = "invalid job: " + job.error().message;
    } else {
        result = evaluate(*job);
    }
    if (!write_all(guest::kResultFd, guest::frame(guest::encode_result(result)))) {
        std::perror("microvm-guest: writing the result");
        return kExitGuestFailure;
    }
    return 0;
}
