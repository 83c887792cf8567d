#include "microvm/cancel.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <mutex>
#include <vector>

#include "rtfs/host/unique_fd.hpp"

namespace microvm {

struct CancelToken::State {
    std::atomic<bool> flag{false};
    rtfs::host::UniqueFd fd{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};  // written once when cancelled
    std::mutex mu;
    std::vector<std::weak_ptr<State>> children;

    void cancel() {
        std::vector<std::shared_ptr<State>> to_cancel;
        {
            std::lock_guard lock(mu);
            if (flag.exchange(true)) return;
            if (fd.valid()) {
                uint64_t one = 1;
                [[maybe_unused]] ssize_t n = ::write(fd.get(), &one, sizeof one);
            }
            for (auto& weak : children) {
                if (auto child = weak.lock()) to_cancel.push_back(std::move(child));
            }
            children.clear();
        }
        for (auto& child : to_cancel) child->cancel();
    }
};

bool CancelToken::cancelled() const {
    return state_ && state_->flag.load();
}

int CancelToken::wait_fd() const {
    return state_ ? state_->fd.get() : -1;
}

const std::atomic<bool>* cancel_flag(const CancelToken& token) {
    return token.state_ ? &token.state_->flag : nullptr;
}

CancelSource::CancelSource() : state_(std::make_shared<CancelToken::State>()) {}

CancelSource CancelSource::child_of(const CancelToken& parent) {
    CancelSource child;
    child.follow(parent);
    return child;
}

void CancelSource::follow(const CancelToken& parent) const {
    if (!parent.state_) return;
    bool already = false;
    {
        std::lock_guard lock(parent.state_->mu);
        already = parent.state_->flag.load();
        if (!already) {
            // Drop children that are gone, so a long-lived parent does not grow without bound.
            auto& kids = parent.state_->children;
            std::erase_if(kids, [](const auto& weak) { return weak.expired(); });
            kids.push_back(state_);
        }
    }
    if (already) cancel();
}

void CancelSource::cancel() const {
    state_->cancel();
}

}  // namespace microvm
