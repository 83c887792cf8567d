// ProviderFactory: a thread-safe registry of provider makers and their (lazily created)
// instances.
#include "microvm/factory.hpp"

#include <algorithm>

#include "text_util.hpp"

namespace microvm {
namespace {

rtfs::Unexpected<Failure> unknown_provider(const std::string& name,
                                           const std::map<std::string, ProviderMaker>& makers) {
    std::vector<std::string> known;
    for (const auto& [n, unused] : makers) known.push_back(n);
    return fail(Failure::Kind::UnknownProvider,
                "unknown provider '" + name + "' (known: " +
                    (known.empty() ? std::string("none") : text::join(known, ", ")) + ")");
}

}  // namespace

ProviderFactory::ProviderFactory() {
    register_builtin_providers(*this);
}

ProviderFactory::~ProviderFactory() {
    cleanup_all();
}

void ProviderFactory::register_provider(const std::string& name, ProviderMaker maker) {
    std::lock_guard lock(mu_);
    // Replacing a provider drops the old instance (after cleaning it up).
    if (auto it = instances_.find(name); it != instances_.end()) {
        it->second->cleanup();
        instances_.erase(it);
    }
    makers_[name] = std::move(maker);
}

Provider* ProviderFactory::instance_locked(const std::string& name) {
    if (auto it = instances_.find(name); it != instances_.end()) return it->second.get();
    auto maker = makers_.find(name);
    if (maker == makers_.end()) return nullptr;
    std::unique_ptr<Provider> made = maker->second();
    Provider* p = made.get();
    if (!p) return nullptr;
    // Refusals suggest the providers of this factory (it outlives its instances).
    p->set_peer_finder([this](ProgramKind kind) { return providers_running(kind); });
    instances_.emplace(name, std::move(made));
    return p;
}

std::vector<std::string> ProviderFactory::providers_running(ProgramKind kind) {
    std::lock_guard lock(mu_);
    std::vector<std::string> names;
    for (const auto& [name, unused] : makers_) {
        Provider* p = instance_locked(name);
        if (!p) continue;
        std::vector<ProgramKind> kinds = p->runs();
        if (std::find(kinds.begin(), kinds.end(), kind) != kinds.end() &&
            p->availability().available) {
            names.push_back(name);
        }
    }
    return names;
}

Expected<void> ProviderFactory::initialize_provider(const std::string& name,
                                                    const nlohmann::json& settings) {
    std::lock_guard lock(mu_);
    if (!makers_.contains(name)) return unknown_provider(name, makers_);
    Provider* p = instance_locked(name);
    if (!p) {
        return fail(Failure::Kind::SetupError, "provider '" + name + "' could not be created");
    }
    return p->initialize(settings);
}

Expected<void> ProviderFactory::check_settings(const std::string& name, const nlohmann::json& settings) {
    std::lock_guard lock(mu_);
    if (!makers_.contains(name)) return unknown_provider(name, makers_);
    Provider* p = instance_locked(name);
    if (!p) return fail(Failure::Kind::SetupError, "provider '" + name + "' could not be created");
    return p->check_settings(settings);
}

Expected<Provider*> ProviderFactory::get_provider(const std::string& name) {
    std::lock_guard lock(mu_);
    if (!makers_.contains(name)) return unknown_provider(name, makers_);
    auto it = instances_.find(name);
    if (it == instances_.end() || !it->second->initialized()) {
        return fail(Failure::Kind::NotInitialized,
                    "provider '" + name + "' is not initialized; call initialize_provider first");
    }
    return it->second.get();
}

std::vector<ProviderInfo> ProviderFactory::list_providers() {
    std::lock_guard lock(mu_);
    std::vector<ProviderInfo> out;
    for (const auto& [name, unused] : makers_) {
        Provider* p = instance_locked(name);
        if (!p) continue;
        out.push_back({name, p->isolation(), p->runs(), p->availability(), p->initialized()});
    }
    return out;
}

std::vector<std::string> ProviderFactory::provider_names() const {
    std::lock_guard lock(mu_);
    std::vector<std::string> names;
    for (const auto& [name, unused] : makers_) names.push_back(name);
    return names;
}

void ProviderFactory::cleanup_all() {
    std::lock_guard lock(mu_);
    for (auto& [name, p] : instances_) p->cleanup();
}

}  // namespace microvm
