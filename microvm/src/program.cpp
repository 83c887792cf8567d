// Names of the program kinds, as used in messages and `microvm providers`.
#include "microvm/program.hpp"

namespace microvm {

const char* to_string(ProgramKind k) {
    switch (k) {
        case ProgramKind::Rtfs:
            return "rtfs";
        case ProgramKind::External:
            return "external";
        case ProgramKind::Wasm:
            return "wasm";
        case ProgramKind::Script:
            return "script";
        case ProgramKind::Native:
            return "native";
    }
    return "rtfs";
}

}  // namespace microvm
