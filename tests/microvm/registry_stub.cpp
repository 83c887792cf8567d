// The core tests register their own test providers; this stands in for providers/registry.cpp
// so that they do not depend on the real providers building.
#include "microvm/factory.hpp"

namespace microvm {

void register_builtin_providers(ProviderFactory&) {}

}  // namespace microvm
