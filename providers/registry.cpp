// The providers compiled into the library: one line per provider.
#include "firecracker/firecracker_provider.hpp"
#include "gvisor/gvisor_provider.hpp"
#include "microvm/factory.hpp"
#include "microvm/wasm/wasm_provider.hpp"
#include "mock/mock_provider.hpp"
#include "process/process_provider.hpp"
#include "qemu/qemu_provider.hpp"

namespace microvm {

void register_builtin_providers(ProviderFactory& factory) {
    factory.register_provider("mock", [] { return std::make_unique<MockProvider>(); });
    factory.register_provider("wasm", [] { return std::make_unique<WasmProvider>(); });
    factory.register_provider("process", [] { return std::make_unique<ProcessProvider>(); });
    factory.register_provider("gvisor", [] { return std::make_unique<GvisorProvider>(); });
    factory.register_provider("qemu", [] { return std::make_unique<QemuProvider>(); });
    factory.register_provider("firecracker", [] { return std::make_unique<FirecrackerProvider>(); });
}

}  // namespace microvm
