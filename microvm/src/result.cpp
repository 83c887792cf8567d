// Status and isolation names: exactly the strings of the JSON output (spec section 4).
#include "microvm/result.hpp"

namespace microvm {

const char* to_string(Status s) {
    switch (s) {
        case Status::Ok:
            return "ok";
        case Status::RuntimeError:
            return "runtime_error";
        case Status::Timeout:
            return "timeout";
        case Status::MemoryExceeded:
            return "memory_exceeded";
        case Status::Killed:
            return "killed";
        case Status::PolicyViolation:
            return "policy_violation";
        case Status::InvalidInput:
            return "invalid_input";
        case Status::SetupError:
            return "setup_error";
        case Status::Unavailable:
            return "unavailable";
    }
    return "setup_error";
}

const char* to_string(Isolation i) {
    switch (i) {
        case Isolation::None:
            return "none";
        case Isolation::Process:
            return "process";
        case Isolation::Container:
            return "container";
        case Isolation::VM:
            return "vm";
        case Isolation::Wasm:
            return "wasm";
    }
    return "none";
}

Status status_for_rtfs_error(std::string_view variant) {
    if (variant == "SecurityViolation") return Status::PolicyViolation;
    if (variant == "ReadError") return Status::InvalidInput;
    if (variant == "ResourceLimit") return Status::MemoryExceeded;
    if (variant == "Interrupted") return Status::Timeout;
    return Status::RuntimeError;
}

}  // namespace microvm
