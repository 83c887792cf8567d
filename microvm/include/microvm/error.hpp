// Errors of the MicroVM layer: what went wrong, as a value.
#pragma once

#include <string>

#include "rtfs/expected.hpp"

namespace microvm {

struct Failure {
    enum class Kind {
        UnknownProvider,
        ProviderUnavailable,
        NotInitialized,
        InvalidConfig,   // bad settings file, bad policy string
        InvalidInput,    // bad program
        Unsupported,     // a setting the provider cannot enforce
        SetupError,      // the sandbox could not be built
    };
    Kind kind = Kind::SetupError;
    std::string message;
};

const char* to_string(Failure::Kind k);

template <class T>
using Expected = rtfs::Expected<T, Failure>;
using rtfs::Ok;

inline rtfs::Unexpected<Failure> fail(Failure::Kind k, std::string message) {
    return {Failure{k, std::move(message)}};
}

}  // namespace microvm
