// Result<T>: a value or an Error, for failures that are expected (a 4xx reply, a full disk,
// malformed input). Member names follow std::expected so the type can be swapped for it once
// the compiler has it. Broken invariants are not Results: they are MTA_ASSERTs.
#pragma once

#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

#include "base/assert.h"

namespace mta {

// An error code from a module's category plus free text for humans (a RocksDB status string,
// the line that failed to parse). The code is what callers branch on; the detail is for logs.
struct Error {
  std::error_code code;
  std::string detail;

  std::string message() const {
    return detail.empty() ? code.message() : code.message() + ": " + detail;
  }
};

template <typename E>
class Unexpected {
 public:
  explicit Unexpected(E error) : error_(std::move(error)) {}
  E& error() & { return error_; }
  E&& error() && { return std::move(error_); }

 private:
  E error_;
};

inline Unexpected<Error> unexpected(Error error) { return Unexpected<Error>(std::move(error)); }
inline Unexpected<Error> unexpected(std::error_code code, std::string detail = {}) {
  return Unexpected<Error>(Error{code, std::move(detail)});
}

template <typename T>
class [[nodiscard]] Result {
 public:
  using value_type = T;

  Result(const T& value) : state_(std::in_place_index<0>, value) {}  // NOLINT: implicit by design
  Result(T&& value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  template <typename U>
  requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, T> &&
           !std::is_same_v<std::decay_t<U>, Result>) Result(U&& value)
      : state_(std::in_place_index<0>, std::forward<U>(value)) {}  // NOLINT
  Result(Unexpected<Error> error)                                  // NOLINT: implicit by design
      : state_(std::in_place_index<1>, std::move(error).error()) {}

  bool has_value() const { return state_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    MTA_ASSERT(has_value());
    return std::get<0>(state_);
  }
  const T& value() const& {
    MTA_ASSERT(has_value());
    return std::get<0>(state_);
  }
  T&& value() && {
    MTA_ASSERT(has_value());
    return std::get<0>(std::move(state_));
  }
  const Error& error() const {
    MTA_ASSERT(!has_value());
    return std::get<1>(state_);
  }
  template <typename U>
  T value_or(U&& fallback) const& {
    return has_value() ? std::get<0>(state_) : static_cast<T>(std::forward<U>(fallback));
  }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  using value_type = void;

  Result() = default;
  Result(Unexpected<Error> error) : error_(std::move(error).error()), ok_(false) {}  // NOLINT

  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  void value() const { MTA_ASSERT(ok_); }
  const Error& error() const {
    MTA_ASSERT(!ok_);
    return error_;
  }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace mta
