// The public face: Proxy and Execution, each call handed to the event loop (core.hpp).
#include "proxy/proxy.hpp"

#include "core.hpp"

namespace microvm::proxy {

Execution::Execution(std::shared_ptr<Core> core, std::shared_ptr<ExecutionState> state)
    : core_(std::move(core)), state_(std::move(state)) {}

Execution::Execution(Execution&& other) noexcept = default;

Execution& Execution::operator=(Execution&& other) noexcept {
    if (this != &other) {
        close();
        core_ = std::move(other.core_);
        state_ = std::move(other.state_);
    }
    return *this;
}

Execution::~Execution() { close(); }

Expected<void> Execution::listen_unix(const std::string& path, mode_t mode) {
    if (!core_) return fail(Failure::Kind::SetupError, "no proxy execution context (moved from)");
    return core_->call([&]() -> Expected<void> { return core_->listen_unix(state_, path, mode); });
}

Expected<uint16_t> Execution::listen_tcp(uint16_t port) {
    if (!core_) return fail(Failure::Kind::SetupError, "no proxy execution context (moved from)");
    return core_->call([&]() -> Expected<uint16_t> { return core_->listen_tcp(state_, port); });
}

Expected<void> Execution::adopt_listener(int fd) {
    UniqueFd owned(fd);
    if (!core_) return fail(Failure::Kind::SetupError, "no proxy execution context (moved from)");
    return core_->adopt_listener(state_, std::move(owned));
}

std::vector<rtfs::NetworkRequest> Execution::take_records() {
    return state_ ? state_->records.take() : std::vector<rtfs::NetworkRequest>{};
}

void Execution::close() {
    if (core_) core_->call([&] { core_->close_execution(*state_); });
}

std::vector<rtfs::NetworkRequest> Execution::finish() {
    close();
    return take_records();
}

Proxy::Proxy(ProxyOptions options) : core_(std::make_shared<Core>(std::move(options))) {}

Proxy::~Proxy() { stop(); }

Expected<void> Proxy::start() { return core_->start(); }

void Proxy::stop() { core_->stop(); }

Expected<Execution> Proxy::open(ExecutionOptions options) {
    if (core_->stopped()) return fail(Failure::Kind::SetupError, "the proxy was stopped");
    return Execution(core_, std::make_shared<ExecutionState>(std::move(options)));
}

}  // namespace microvm::proxy
