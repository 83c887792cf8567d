#include "core.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <system_error>

#include "connection.hpp"
#include "host/sys_error.hpp"
#include "listener.hpp"

namespace microvm::proxy {
namespace {

constexpr uint64_t kWakeKey = 0;  // connection and listener keys start at 2
constexpr int kMaxEvents = 64;

}  // namespace

bool Mailbox::post(std::function<void()> command) {
    std::lock_guard lock(mutex);
    if (wake_fd < 0) return false;
    commands.push_back(std::move(command));
    wake();
    return true;
}

void Mailbox::post(uint64_t connection, Resolution r) {
    std::lock_guard lock(mutex);
    if (wake_fd < 0) return;  // the proxy stopped: nobody waits for the answer
    resolutions.emplace_back(connection, std::move(r));
    wake();
}

void Mailbox::wake() {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd, &one, sizeof one);  // EAGAIN: already awake
}

Core::Core(ProxyOptions options)
    : options_(std::move(options)),
      resolver_(options_.resolver ? options_.resolver : SystemResolver::shared()),
      mailbox_(std::make_shared<Mailbox>()),
      lookups_(*resolver_, mailbox_, options_.resolver_slots, options_.resolver_share),
      epoll_(::epoll_create1(EPOLL_CLOEXEC)),
      wake_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (!epoll_.valid() || !wake_.valid()) {
        throw std::system_error(errno, std::generic_category(), "the proxy's event loop");
    }
    mailbox_->wake_fd = wake_.get();
    watch(wake_.get(), kWakeKey, EPOLLIN);
}

Core::~Core() { stop(); }

Expected<void> Core::start() {
    std::lock_guard lock(api_mutex_);
    if (stopped_) return fail(Failure::Kind::SetupError, "the proxy was stopped; it does not start again");
    if (running_) return Ok{};
    quit_ = false;
    thread_ = std::thread([this] { run(); });
    running_ = true;
    return Ok{};
}

void Core::stop() {
    std::lock_guard lock(api_mutex_);
    if (running_) {
        mailbox_->post([this] { quit_ = true; });
        thread_.join();
        running_ = false;
    }
    if (stopped_) return;
    stopped_ = true;
    close_all("cut: proxy stopped");
    {
        std::lock_guard mail(mailbox_->mutex);
        mailbox_->wake_fd = -1;
        mailbox_->commands.clear();
        mailbox_->resolutions.clear();
    }
    epoll_.reset();
    wake_.reset();
}

void Core::close_all(const std::string& why) {
    std::vector<uint64_t> ids;
    for (const auto& [id, c] : connections_) ids.push_back(id);
    for (uint64_t id : ids) {
        if (auto it = connections_.find(id); it != connections_.end()) it->second->abort(why);
    }
    listeners_.clear();
    retired_.clear();
    ready_.clear();
}

void Core::run() {
    // Writing to a socket whose peer is gone raises SIGPIPE unless blocked; send() has
    // MSG_NOSIGNAL but splice() has no such flag. Blocked in this thread only: the host's own
    // signal handling stays as it is.
    sigset_t pipe_signal;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);

    epoll_event events[kMaxEvents];
    while (!quit_) {
        const int n = ::epoll_wait(epoll_.get(), events, kMaxEvents, wait_timeout_ms(Clock::now()));
        for (int i = 0; i < n; ++i) {
            if (events[i].data.u64 == kWakeKey) {
                handle_mailbox();
            } else {
                dispatch(events[i].data.u64, events[i].events);
            }
        }
        run_ready();
        const auto now = Clock::now();
        if (now >= next_sweep_) sweep(now);
        retired_.clear();
    }
}

void Core::handle_mailbox() {
    uint64_t count = 0;
    [[maybe_unused]] ssize_t n = ::read(wake_.get(), &count, sizeof count);
    std::vector<std::function<void()>> commands;
    std::vector<std::pair<uint64_t, Resolution>> resolutions;
    {
        std::lock_guard lock(mailbox_->mutex);
        commands.swap(mailbox_->commands);
        resolutions.swap(mailbox_->resolutions);
    }
    for (auto& command : commands) command();
    for (auto& [id, resolution] : resolutions) {
        lookups_.answered(id);
        if (auto it = connections_.find(id); it != connections_.end()) it->second->on_resolved(std::move(resolution));
    }
}

void Core::dispatch(uint64_t key, uint32_t events) {
    const uint64_t id = key >> 1;
    if (auto it = connections_.find(id); it != connections_.end()) {
        it->second->on_event((key & 1) != 0, events);
    } else if (auto l = listeners_.find(id); l != listeners_.end()) {
        l->second->on_readable();
    }
    // Otherwise the event is for something closed earlier in this batch: dropped.
}

void Core::run_ready() {
    std::vector<uint64_t> ready;
    ready.swap(ready_);
    for (uint64_t id : ready) {
        if (auto it = connections_.find(id); it != connections_.end()) it->second->on_ready();
    }
}

int Core::wait_timeout_ms(Clock::time_point now) const {
    if (!ready_.empty()) return 0;
    if (next_sweep_ == Clock::time_point::max()) return -1;
    if (next_sweep_ <= now) return 0;
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(next_sweep_ - now).count();
    return static_cast<int>(std::min<int64_t>(ms, 60'000));
}

// Deadlines are only ever pushed later by activity, so the earliest one noted is a lower
// bound: the sweep runs then, handles what is due, and finds the next earliest.
void Core::sweep(Clock::time_point now) {
    next_sweep_ = Clock::time_point::max();
    std::vector<uint64_t> due;
    for (const auto& [id, c] : connections_) {
        if (c->deadline() <= now) {
            due.push_back(id);
        } else {
            next_sweep_ = std::min(next_sweep_, c->deadline());
        }
    }
    for (uint64_t id : due) {
        if (auto it = connections_.find(id); it != connections_.end()) it->second->on_deadline();
        if (auto it = connections_.find(id); it != connections_.end()) {
            next_sweep_ = std::min(next_sweep_, it->second->deadline());
        }
    }
    for (const auto& [id, l] : listeners_) {
        if (l->paused_until() <= now) l->resume();
        next_sweep_ = std::min(next_sweep_, l->paused_until());
    }
}

void Core::note_deadline(Clock::time_point when) { next_sweep_ = std::min(next_sweep_, when); }

void Core::mark_ready(uint64_t connection_id) { ready_.push_back(connection_id); }

// A failed registration (the kernel's epoll watch limit) leaves the socket unwatched: its
// connection then ends at its deadline, recorded.
void Core::watch(int fd, uint64_t key, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = key;
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev);
}

void Core::rewatch(int fd, uint64_t key, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = key;
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev);
}

void Core::add_connection(std::unique_ptr<Connection> connection) {
    const uint64_t id = connection->id();
    connections_.emplace(id, std::move(connection));
}

void Core::retire(uint64_t connection_id) {
    if (auto it = connections_.find(connection_id); it != connections_.end()) {
        retired_.push_back(std::move(it->second));
        connections_.erase(it);
    }
}

Expected<void> Core::listen_unix(const std::shared_ptr<ExecutionState>& execution, const std::string& path,
                                 mode_t mode) {
    if (stopped_) return fail(Failure::Kind::SetupError, "the proxy was stopped");
    if (execution->closed) return fail(Failure::Kind::SetupError, "the execution's proxy context was closed");
    RTFS_TRY(UniqueFd fd, listen_on_unix(path, mode));
    const uint64_t id = new_id();
    listeners_.emplace(id, std::make_unique<Listener>(*this, id, execution, std::move(fd), path, false));
    return Ok{};
}

Expected<uint16_t> Core::listen_tcp(const std::shared_ptr<ExecutionState>& execution, uint16_t port) {
    if (stopped_) return fail(Failure::Kind::SetupError, "the proxy was stopped");
    if (execution->closed) return fail(Failure::Kind::SetupError, "the execution's proxy context was closed");
    RTFS_TRY(UniqueFd fd, listen_on_loopback(port));
    const uint64_t id = new_id();
    listeners_.emplace(id, std::make_unique<Listener>(*this, id, execution, std::move(fd), std::string(), true));
    return port;
}

// Checked here, on the caller's thread, then registered by a command the caller does not wait
// for: a run's setup pays no round trip to the loop's thread (which on a loaded machine costs a
// scheduling delay). Commands run in order, so a later close() of the execution sees it.
Expected<void> Core::adopt_listener(const std::shared_ptr<ExecutionState>& execution, UniqueFd fd) {
    if (stopped_) return fail(Failure::Kind::SetupError, "the proxy was stopped");
    int accepting = 0;
    socklen_t length = sizeof accepting;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) != 0 || !accepting) {
        return fail(Failure::Kind::SetupError, "the adopted descriptor is not a listening socket");
    }
    const int flags = ::fcntl(fd.get(), F_GETFL);
    if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) != 0 ||
        ::fcntl(fd.get(), F_SETFD, FD_CLOEXEC) != 0) {
        return host::sys_failure("adopt a listening socket", errno);
    }
    auto owned = std::make_shared<UniqueFd>(std::move(fd));
    auto add = [this, execution, owned] {
        if (stopped_ || execution->closed) return;  // the descriptor closes with `owned`
        const uint64_t id = new_id();
        listeners_.emplace(id, std::make_unique<Listener>(*this, id, execution, std::move(*owned), std::string(), true));
    };
    std::unique_lock lock(api_mutex_);
    if (!running_) {
        add();
        return Ok{};
    }
    if (!mailbox_->post(add)) return fail(Failure::Kind::SetupError, "the proxy was stopped");
    return Ok{};
}

// Runs as a command from the mailbox (or inline), never inside a connection's handler: the
// retired connections can go at once.
void Core::close_execution(ExecutionState& execution) {
    execution.closed = true;
    std::erase_if(listeners_, [&](const auto& entry) { return &entry.second->execution() == &execution; });
    std::vector<uint64_t> ids;
    for (const auto& [id, c] : connections_) {
        if (&c->execution() == &execution) ids.push_back(id);
    }
    for (uint64_t id : ids) {
        if (auto it = connections_.find(id); it != connections_.end()) it->second->abort("cut: execution ended");
    }
    retired_.clear();
}

}  // namespace microvm::proxy
