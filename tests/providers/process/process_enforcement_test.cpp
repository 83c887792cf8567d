// The shared enforcement suite, run against the process provider.
#include "enforcement_suite.hpp"
#include "process/process_provider.hpp"

namespace enforcement {

INSTANTIATE_TEST_SUITE_P(Process, ProviderEnforcementTest,
                         ::testing::Values(EnforcementTarget{
                             "process",
                             [] { return std::make_unique<microvm::ProcessProvider>(); }}),
                         target_name);

}  // namespace enforcement
