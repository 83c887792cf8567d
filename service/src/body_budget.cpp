#include "service/body_budget.hpp"

namespace microvm::service {

std::optional<BodyBudget::Hold> BodyBudget::reserve(size_t bytes) {
    std::lock_guard lock(mu_);
    if (bytes > limit_ || held_ > limit_ - bytes) return std::nullopt;
    held_ += bytes;
    return std::optional<Hold>(std::in_place, *this, bytes);
}

size_t BodyBudget::held() const {
    std::lock_guard lock(mu_);
    return held_;
}

void BodyBudget::release(size_t bytes) {
    std::lock_guard lock(mu_);
    held_ -= bytes;
}

}  // namespace microvm::service
