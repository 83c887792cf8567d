// Names of the MicroVM failure kinds, as shown in error messages.
#include "microvm/error.hpp"

namespace microvm {

const char* to_string(Failure::Kind k) {
    switch (k) {
        case Failure::Kind::UnknownProvider:
            return "unknown_provider";
        case Failure::Kind::ProviderUnavailable:
            return "provider_unavailable";
        case Failure::Kind::NotInitialized:
            return "not_initialized";
        case Failure::Kind::InvalidConfig:
            return "invalid_config";
        case Failure::Kind::InvalidInput:
            return "invalid_input";
        case Failure::Kind::Unsupported:
            return "unsupported";
        case Failure::Kind::SetupError:
            return "setup_error";
    }
    return "setup_error";
}

}  // namespace microvm
