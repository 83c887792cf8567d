// Status and isolation names: exactly the strings of the JSON output (spec section 4).
#include "microvm/result.hpp"

#include "rtfs/value.hpp"

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

const char* to_string(Reason r) {
    switch (r) {
        case Reason::NonzeroExit: return "nonzero_exit";
        case Reason::RtfsError: return "rtfs_error";
        case Reason::Trap: return "trap";
        case Reason::Timeout: return "timeout";
        case Reason::MemoryExceeded: return "memory_exceeded";
        case Reason::Signaled: return "signaled";
        case Reason::Cancelled: return "cancelled";
        case Reason::ProgramNotFound: return "program_not_found";
        case Reason::NotExecutable: return "not_executable";
        case Reason::ExecFailed: return "exec_failed";
        case Reason::PolicyRefused: return "policy_refused";
        case Reason::CapabilityDenied: return "capability_denied";
        case Reason::InvalidConfig: return "invalid_config";
        case Reason::InvalidProgram: return "invalid_program";
        case Reason::SetupError: return "setup_error";
        case Reason::Unavailable: return "unavailable";
        case Reason::GuestProtocol: return "guest_protocol";
        case Reason::ProcessLimit: return "process_limit";
    }
    return "setup_error";
}

Status status_for(Reason r, std::string_view rtfs_variant) {
    switch (r) {
        case Reason::NonzeroExit:
        case Reason::Trap:
        case Reason::ProgramNotFound:
        case Reason::NotExecutable:
        case Reason::ExecFailed:
        case Reason::GuestProtocol:
            return Status::RuntimeError;
        case Reason::RtfsError: return status_for_rtfs_error(rtfs_variant);
        case Reason::Timeout: return Status::Timeout;
        case Reason::MemoryExceeded: return Status::MemoryExceeded;
        case Reason::Signaled:
        case Reason::Cancelled:
        case Reason::ProcessLimit:
            return Status::Killed;
        case Reason::PolicyRefused:
        case Reason::CapabilityDenied:
            return Status::PolicyViolation;
        case Reason::InvalidConfig:
        case Reason::InvalidProgram:
            return Status::InvalidInput;
        case Reason::SetupError: return Status::SetupError;
        case Reason::Unavailable: return Status::Unavailable;
    }
    return Status::SetupError;
}

Status status_for_rtfs_error(std::string_view variant) {
    rtfs::ErrorKind kind;
    if (!rtfs::error_kind_from_string(variant, &kind)) return Status::RuntimeError;
    switch (kind) {
        case rtfs::ErrorKind::SecurityViolation: return Status::PolicyViolation;
        case rtfs::ErrorKind::ReadError: return Status::InvalidInput;
        case rtfs::ErrorKind::ResourceLimit: return Status::MemoryExceeded;
        case rtfs::ErrorKind::Interrupted: return Status::Timeout;
        case rtfs::ErrorKind::TypeError:
        case rtfs::ErrorKind::UndefinedSymbol:
        case rtfs::ErrorKind::ArityMismatch:
        case rtfs::ErrorKind::DivisionByZero:
        case rtfs::ErrorKind::IndexOutOfBounds:
        case rtfs::ErrorKind::MatchError:
        case rtfs::ErrorKind::TypeValidationError:
        case rtfs::ErrorKind::InvalidArgument:
        case rtfs::ErrorKind::Overflow:
        case rtfs::ErrorKind::CapabilityError:
        case rtfs::ErrorKind::RecursionLimit:
        case rtfs::ErrorKind::UserError: return Status::RuntimeError;
    }
    return Status::RuntimeError;
}

}  // namespace microvm
