#include "report.hpp"

#include <unistd.h>

#include <cstdio>

#include "microvm/json_output.hpp"

namespace microvm::cli {

void print_error(const std::string& kind, const std::string& message) {
    std::fprintf(stderr, "error: %s: %s\n", kind.c_str(), message.c_str());
}

int exit_for_failure(const Failure& f) {
    switch (f.kind) {
        case Failure::Kind::InvalidConfig:
        case Failure::Kind::InvalidInput: return kExitUsage;
        case Failure::Kind::Unsupported: return kExitPolicy;
        default: return kExitSetup;
    }
}

void write_all(int fd, std::string_view s) {
    size_t off = 0;
    while (off < s.size()) {
        ssize_t n = ::write(fd, s.data() + off, s.size() - off);
        if (n <= 0) return;
        off += static_cast<size_t>(n);
    }
}

int report_plain(const ExecutionResult& r, bool is_eval, std::optional<uint64_t> output_cap) {
    if (r.metadata.stdout_truncated || r.metadata.stderr_truncated) {
        if (output_cap)
            std::fprintf(stderr, "microvm: output truncated at %llu bytes per stream\n",
                         static_cast<unsigned long long>(*output_cap));
        else
            std::fprintf(stderr, "microvm: output truncated at the daemon's limit per stream\n");
    }
    if (r.ok()) {
        if (is_eval && r.value) std::printf("%s\n", r.value->c_str());
    } else if (r.error && !(!is_eval && r.error->reason == Reason::NonzeroExit)) {
        // A program that simply exited non-zero has said what it had to say itself.
        print_error(r.error->kind.empty() ? to_string(r.status) : r.error->kind, r.error->message);
    }
    return exit_status_for(r, is_eval);
}

}  // namespace microvm::cli
