// A minimal value-or-error type. The RTFS core builds without C++ exceptions (wasm32-wasi), so
// every fallible operation in the project returns one of these instead of throwing.
#pragma once

#include <cassert>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

namespace rtfs {

template <class E>
struct Unexpected {
    E error;
};
template <class E>
Unexpected<std::decay_t<E>> unexpected(E&& e) {
    return {std::forward<E>(e)};
}

template <class T, class E>
class [[nodiscard]] Expected {
public:
    Expected()
        requires std::is_default_constructible_v<T>
        : v_(std::in_place_index<0>) {}
    Expected(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    template <class U>
        requires std::is_constructible_v<E, U>
    Expected(Unexpected<U> e) : v_(std::in_place_index<1>, E(std::move(e.error))) {}

    bool has_value() const { return v_.index() == 0; }
    explicit operator bool() const { return has_value(); }

    T& value() & { assert(has_value()); return *std::get_if<0>(&v_); }
    const T& value() const& { assert(has_value()); return *std::get_if<0>(&v_); }
    T&& value() && { assert(has_value()); return std::move(*std::get_if<0>(&v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(value()); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    E& error() & { assert(!has_value()); return *std::get_if<1>(&v_); }
    const E& error() const& { assert(!has_value()); return *std::get_if<1>(&v_); }
    E&& error() && { assert(!has_value()); return std::move(*std::get_if<1>(&v_)); }

private:
    std::variant<T, E> v_;
};

// Expected<void, E>: success carries nothing.
struct Ok {};

template <class E>
class [[nodiscard]] Expected<void, E> {
public:
    Expected() = default;
    Expected(Ok) {}
    template <class U>
        requires std::is_constructible_v<E, U>
    Expected(Unexpected<U> e) : err_(E(std::move(e.error))) {}
    bool has_value() const { return !err_.has_value(); }
    explicit operator bool() const { return has_value(); }
    const E& error() const& { assert(err_); return *err_; }
    E&& error() && { assert(err_); return std::move(*err_); }

private:
    std::optional<E> err_;
};

}  // namespace rtfs

#define RTFS_CONCAT_INNER(a, b) a##b
#define RTFS_CONCAT(a, b) RTFS_CONCAT_INNER(a, b)

// RTFS_TRY(auto x, expr): evaluates expr; on error returns the error from the enclosing function,
// otherwise moves the value into the declaration on the left.
#define RTFS_TRY(decl, expr)                                                  \
    auto RTFS_CONCAT(rtfs_try_, __LINE__) = (expr);                           \
    if (!RTFS_CONCAT(rtfs_try_, __LINE__))                                    \
        return ::rtfs::unexpected(std::move(RTFS_CONCAT(rtfs_try_, __LINE__)).error()); \
    decl = std::move(*RTFS_CONCAT(rtfs_try_, __LINE__))

// RTFS_CHECK(expr): for Expected<void, E>.
#define RTFS_CHECK(expr)                                                      \
    do {                                                                      \
        auto rtfs_check_ = (expr);                                            \
        if (!rtfs_check_) return ::rtfs::unexpected(std::move(rtfs_check_).error()); \
    } while (0)
