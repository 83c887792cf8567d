// The provider registry and factory: providers register themselves by name; the factory creates,
// initializes, hands out and cleans up provider instances.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "microvm/provider.hpp"

namespace microvm {

using ProviderMaker = std::function<std::unique_ptr<Provider>()>;

struct ProviderInfo {
    std::string name;
    Isolation isolation;
    std::vector<ProgramKind> runs;
    Availability availability;
    bool initialized = false;
};

class ProviderFactory {
public:
    // A factory knowing every provider compiled into the library (providers/registry.cpp).
    ProviderFactory();
    ~ProviderFactory();

    // Adds (or replaces) a provider maker; used by providers/registry.cpp and by tests.
    void register_provider(const std::string& name, ProviderMaker maker);

    Expected<void> initialize_provider(const std::string& name,
                                       const nlohmann::json& settings = nlohmann::json::object());
    // Whether name is a provider of this factory whose config_schema() settings match, without
    // initializing it: UnknownProvider or InvalidConfig otherwise.
    Expected<void> check_settings(const std::string& name, const nlohmann::json& settings);
    // Errors: unknown provider, not initialized.
    Expected<Provider*> get_provider(const std::string& name);
    std::vector<ProviderInfo> list_providers();
    std::vector<std::string> provider_names() const;
    void cleanup_all();

private:
    Provider* instance_locked(const std::string& name);  // creates on first use
    // Registered providers that run programs of kind and are available.
    std::vector<std::string> providers_running(ProgramKind kind);

    mutable std::mutex mu_;
    std::map<std::string, ProviderMaker> makers_;
    std::map<std::string, std::unique_ptr<Provider>> instances_;
};

// Implemented in providers/registry.cpp: one line per provider.
void register_builtin_providers(ProviderFactory& factory);

}  // namespace microvm
