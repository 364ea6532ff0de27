// StrongId<Tag, T>: an integer id that cannot be mixed up with another kind of id or a count.
// MessageId and ShardId are the ones every module shares.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>

namespace mta {

template <typename Tag, typename T = std::uint64_t>
class StrongId {
 public:
  using value_type = T;

  constexpr StrongId() = default;
  constexpr explicit StrongId(T value) : value_(value) {}

  constexpr T value() const { return value_; }
  friend constexpr auto operator<=>(StrongId, StrongId) = default;

 private:
  T value_{};
};

struct MessageIdTag {};
struct ShardIdTag {};
using MessageId = StrongId<MessageIdTag, std::uint64_t>;
using ShardId = StrongId<ShardIdTag, std::uint32_t>;

// Sixteen lowercase hex digits: the form ids take in logs, headers and queue keys.
std::string to_hex(MessageId id);

}  // namespace mta

template <typename Tag, typename T>
struct std::hash<mta::StrongId<Tag, T>> {
  std::size_t operator()(mta::StrongId<Tag, T> id) const noexcept {
    return std::hash<T>{}(id.value());
  }
};
