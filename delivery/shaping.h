// Traffic shaping (issue 11, first part): limits per destination, from the [delivery] defaults
// tightened by every [[shaping]] rule that applies (by recipient domain, or by a suffix of any
// of the destination's MX host names, so one rule covers every domain a provider hosts), and
// the token buckets that hold a destination to its rates. Pure, apart from the clock it is
// given.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"

namespace mta::delivery {

struct Limits {
  static constexpr std::size_t unlimited = std::numeric_limits<std::size_t>::max();
  std::size_t connections_max = unlimited;
  std::size_t messages_per_connection_max = unlimited;
  // RCPTs in one transaction; a part with more goes in several, one after another.
  std::size_t recipients_per_message_max = unlimited;
  // Connections open at once from one source address (receivers count by IP).
  std::size_t connections_per_source_max = unlimited;
  // Messages (transactions) and new connections per period; 0 = no limit.
  double messages_per_second = 0;
  double messages_per_hour = 0;
  double messages_per_day = 0;
  double connections_per_minute = 0;

  // Each limit becomes the smaller of the two (an unset rate is no limit).
  void tighten(const Limits& other);
  // This shard's share of a node-wide limit, for a destination every shard delivers to (the
  // relay): counts rounded up, so each shard can still open a connection.
  Limits per_shard(std::uint32_t shard_count) const;
  // Fleet mode: a holder's share of a fleet-wide limit, `connections` granted (at most
  // connections_max) and 1/holders of each rate.
  Limits fleet_share(std::size_t connections, std::uint32_t holders) const;
  friend bool operator==(const Limits&, const Limits&) = default;
};

struct ShapingRule {
  std::string domain;     // the recipient domain exactly (lower case); or
  std::string mx_suffix;  // a suffix of an MX host name, e.g. ".protection.outlook.com"
  Limits limits;          // what it sets; unset fields leave the others' value
};

class Shaping {
 public:
  Shaping() = default;
  explicit Shaping(std::vector<ShapingRule> rules) : rules_(std::move(rules)) {}

  // `defaults` tightened by every rule for `domain` (empty: none) or for any of `mx_hosts`.
  Limits limits_for(const Limits& defaults, std::string_view domain,
                    const std::vector<std::string>& mx_hosts) const;
  bool empty() const { return rules_.empty(); }

 private:
  std::vector<ShapingRule> rules_;
};

// A token bucket: `amount` per `period`, holding at most `amount` (a full period's worth may go
// at once, and no more than that on average).
class TokenBucket {
 public:
  TokenBucket(double amount, Clock::Duration period, Clock::TimePoint now);
  // Takes one token if there is one.
  bool take(Clock::TimePoint now);
  // When the next token will be there (now if one is).
  Clock::TimePoint next_at(Clock::TimePoint now);

 private:
  void refill(Clock::TimePoint now);
  double amount_;
  double per_nanosecond_;
  double tokens_;
  Clock::TimePoint at_;
};

// A rate every shard shares without a lock: `amount` per `period`, a full period's worth at
// once, as GCRA (the generic cell rate algorithm) keeps it: one atomic "theoretical arrival
// time" that each message moves on by period/amount, and a message may go while that time is
// less than a period ahead of now.
class SharedRate {
 public:
  SharedRate(double amount, Clock::Duration period);
  // Takes one token if there is one.
  bool take(Clock::TimePoint now);
  // When the next token will be there (now if one is).
  Clock::TimePoint next_at(Clock::TimePoint now) const;

 private:
  std::int64_t interval_;   // ns per token
  std::int64_t tolerance_;  // ns: period - interval, so `amount` may go at once
  std::atomic<std::int64_t> arrival_{std::numeric_limits<std::int64_t>::min()};
};

// The rate buckets of one destination's limits.
class RateGate {
 public:
  RateGate() = default;
  RateGate(const Limits& limits, Clock::TimePoint now);
  bool take_message(Clock::TimePoint now);
  bool take_connection(Clock::TimePoint now);
  // When a message, or a connection, may go next.
  Clock::TimePoint message_at(Clock::TimePoint now);
  Clock::TimePoint connection_at(Clock::TimePoint now);

 private:
  std::vector<TokenBucket> messages_;
  std::vector<TokenBucket> connections_;
};

}  // namespace mta::delivery
