// Per-client rate limits for injection (per SMTP user, per client IP, per API key): a token
// bucket per key, on one shard, without locks. A node-wide limit is split evenly across the
// shards (Rate::per_shard), as connections spread over them by SO_REUSEPORT.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/clock.h"
#include "base/result.h"

namespace mta::injection {

// "100/s", "6000/m", "50000/h", "1000000/d": `count` messages per `period`.
struct Rate {
  double count = 0;  // 0 = unlimited
  Clock::Duration period = std::chrono::seconds(1);

  bool unlimited() const { return count <= 0; }
  // The share of one of `shards` shards (at least a burst of one message).
  Rate per_shard(std::uint32_t shards) const;
  friend bool operator==(const Rate&, const Rate&) = default;
};

// Parses "N/s|m|h|d" (N a positive integer); "" and "0" are unlimited.
Result<Rate> parse_rate(std::string_view text);

// Token buckets by key: each holds up to rate.count tokens and refills at count per period.
// Keys are forgotten once their bucket is full again, so the table holds only recent clients.
class RateLimiter {
 public:
  explicit RateLimiter(Rate rate, std::size_t keys_max = 100'000);

  // Takes `cost` tokens for `key`; false (and nothing taken) when they are not there yet.
  bool take(std::string_view key, Clock::TimePoint now, double cost = 1);
  // How long until `cost` tokens are there for `key` (zero when they are now); for Retry-After.
  Clock::Duration wait(std::string_view key, Clock::TimePoint now, double cost = 1) const;
  bool unlimited() const { return rate_.unlimited(); }
  std::size_t keys() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens = 0;
    Clock::TimePoint updated;
  };

  double refilled(const Bucket& bucket, Clock::TimePoint now) const;
  void prune(Clock::TimePoint now);

  Rate rate_;
  double per_second_ = 0;
  std::size_t keys_max_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace mta::injection
