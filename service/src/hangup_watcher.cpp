#include "service/hangup_watcher.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace microvm::service {

namespace {

[[noreturn]] void throw_errno(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

}  // namespace

HangupWatcher::HangupWatcher()
    : epoll_(::epoll_create1(EPOLL_CLOEXEC)), stop_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (epoll_.get() < 0) throw_errno("epoll_create1");
    if (stop_.get() < 0) throw_errno("eventfd");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = 0;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, stop_.get(), &ev) != 0) throw_errno("epoll_ctl");
    thread_ = std::thread([this] { loop(); });
}

HangupWatcher::~HangupWatcher() {
    uint64_t one = 1;
    if (::write(stop_.get(), &one, sizeof one) < 0) {
    }
    thread_.join();
}

HangupWatcher::Watch::~Watch() {
    if (owner_) owner_->unwatch(id_);
}

HangupWatcher::Watch HangupWatcher::watch(int fd, CancelSource gone) {
    std::lock_guard lock(mu_);
    const uint64_t id = next_id_++;
    epoll_event ev{};
    // One report per watch (EPOLLONESHOT): a hung-up socket stays "hung up" and would wake
    // the thread again and again until the request ends.
    ev.events = EPOLLRDHUP | EPOLLONESHOT;  // EPOLLHUP and EPOLLERR always count
    ev.data.u64 = id;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) throw_errno("epoll_ctl (watching a client's hang-up)");
    watched_.emplace(id, Watched{fd, std::move(gone)});
    return Watch(this, id);
}

void HangupWatcher::unwatch(uint64_t id) {
    std::lock_guard lock(mu_);
    auto it = watched_.find(id);
    if (it == watched_.end()) return;
    // The descriptor is still open (the connection outlives its requests' watches).
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second.fd, nullptr);
    watched_.erase(it);
}

void HangupWatcher::loop() {
    epoll_event events[16];
    for (;;) {
        int n = ::epoll_wait(epoll_.get(), events, 16, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            return;  // EBADF/EINVAL: cannot happen with our own descriptor
        }
        std::lock_guard lock(mu_);
        for (int i = 0; i < n; ++i) {
            if (events[i].data.u64 == 0) return;  // stop
            // A watch ended after the event was queued: its id is gone, nothing to do.
            auto it = watched_.find(events[i].data.u64);
            if (it != watched_.end() && (events[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
                it->second.gone.cancel();
        }
    }
}

}  // namespace microvm::service
