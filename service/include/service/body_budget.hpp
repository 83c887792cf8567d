// The daemon-wide budget of request-body bytes being received at once. httplib holds a body
// whole in memory until the handler runs, so without it N concurrent uploads hold N times the
// file limit. A request reserves its declared length (or its limit when it comes chunked)
// before its body is read; over the budget it is refused with 503 + Retry-After.
#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <utility>

namespace microvm::service {

class BodyBudget {
  public:
    explicit BodyBudget(size_t limit) : limit_(limit) {}
    BodyBudget(const BodyBudget&) = delete;
    BodyBudget& operator=(const BodyBudget&) = delete;

    // Bytes reserved until it is destroyed.
    class Hold {
      public:
        Hold(BodyBudget& budget, size_t bytes) : budget_(&budget), bytes_(bytes) {}
        Hold(Hold&& other) noexcept : budget_(other.budget_), bytes_(other.bytes_) { other.budget_ = nullptr; }
        Hold& operator=(Hold&& other) noexcept {
            if (this != &other) {
                if (budget_) budget_->release(bytes_);
                budget_ = std::exchange(other.budget_, nullptr);
                bytes_ = other.bytes_;
            }
            return *this;
        }
        Hold(const Hold&) = delete;
        Hold& operator=(const Hold&) = delete;
        ~Hold() {
            if (budget_) budget_->release(bytes_);
        }

      private:
        BodyBudget* budget_;
        size_t bytes_;
    };

    // nullopt when bytes do not fit beside what is held already.
    std::optional<Hold> reserve(size_t bytes);
    size_t held() const;
    size_t limit() const { return limit_; }

  private:
    void release(size_t bytes);

    const size_t limit_;
    mutable std::mutex mu_;
    size_t held_ = 0;
};

}  // namespace microvm::service
