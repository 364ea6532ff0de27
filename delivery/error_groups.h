// The deferrals and bounces of every destination, grouped so that one failing destination reads
// as one row with a count instead of filling the console: a group is (destination, outcome,
// enhanced status code, the reply with its numbers, addresses and ids replaced by placeholders).
// Bounded: at most `groups_max` groups in all and `per_destination_max` per destination; a new
// group over either cap evicts the one seen least recently (of that destination first), so a
// destination whose replies never repeat cannot push the others out.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "base/clock.h"
#include "delivery/observers.h"

namespace mta::delivery {

// A reply with what varies from one recipient or message to the next replaced: addresses by
// "<address>", IPv4 addresses by "<ip>", numbers by "<n>", ids and hex strings (a word of 6 or
// more characters with digits and letters, or 8 or more hex digits) by "<id>". Whitespace runs
// become one space; the result is at most 300 bytes. Pure.
std::string normalize_reply(std::string_view text);

struct ErrorGroup {
  std::string destination;
  bool bounced = false;  // else deferred
  int code = 0;          // the SMTP reply code, 0 when none (our own failures)
  std::string enhanced;  // "4.3.2", or empty
  std::string text;      // normalize_reply of the reply's text
  std::string example;   // the latest reply as it came (at most 512 bytes)
  std::uint64_t count = 0;
  Clock::WallTime first_seen{};
  Clock::WallTime last_seen{};
};

// An outcome observer on every shard (thread-safe: a mutex, taken once per deferral or bounce).
class ErrorGroups final : public OutcomeObserver {
 public:
  explicit ErrorGroups(std::size_t groups_max = 500, std::size_t per_destination_max = 20);

  void on_outcome(std::uint32_t shard, const RecipientOutcome& outcome) override;
  // A deferral (bounced = false) or bounce of `destination` with `reply` (as last_reply holds it).
  void add(std::string_view destination, bool bounced, std::string_view reply, Clock::WallTime at);

  // The groups, the most recently seen first, at most `limit`.
  std::vector<ErrorGroup> snapshot(std::size_t limit) const;
  std::size_t size() const;

 private:
  using Key = std::tuple<std::string, bool, int, std::string, std::string>;
  void evict_one(const std::string* destination);

  const std::size_t groups_max_;
  const std::size_t per_destination_max_;
  mutable std::mutex mutex_;
  std::map<Key, ErrorGroup> groups_;
  std::map<std::string, std::size_t, std::less<>> per_destination_;
};

}  // namespace mta::delivery
