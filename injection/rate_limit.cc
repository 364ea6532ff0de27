// Token buckets, refilled lazily on each use: no timers, and an idle key costs nothing until
// the table grows past keys_max, when every bucket that has refilled completely is dropped.
#include "injection/rate_limit.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>

#include "injection/errc.h"

namespace mta::injection {

Rate Rate::per_shard(std::uint32_t shards) const {
  if (unlimited() || shards <= 1) return *this;
  return Rate{.count = std::max(1.0, count / shards),
              .period = std::chrono::duration_cast<Clock::Duration>(
                  period * (std::max(1.0, count / shards) * shards / count))};
}

Result<Rate> parse_rate(std::string_view text) {
  if (text.empty() || text == "0") return Rate{};
  const std::size_t slash = text.find('/');
  const std::string_view number = text.substr(0, slash);
  std::uint64_t count = 0;
  const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), count);
  if (slash == std::string_view::npos || error != std::errc() ||
      end != number.data() + number.size()) {
    return unexpected(Errc::bad_rate,
                      "\"" + std::string(text) + "\": want N/s, N/m, N/h or N/d, e.g. 100/s");
  }
  const std::string_view unit = text.substr(slash + 1);
  Clock::Duration period;
  if (unit == "s") {
    period = std::chrono::seconds(1);
  } else if (unit == "m") {
    period = std::chrono::minutes(1);
  } else if (unit == "h") {
    period = std::chrono::hours(1);
  } else if (unit == "d") {
    period = std::chrono::hours(24);
  } else {
    return unexpected(Errc::bad_rate, "\"" + std::string(text) + "\": the period is s, m, h or d");
  }
  return Rate{.count = static_cast<double>(count), .period = period};
}

RateLimiter::RateLimiter(Rate rate, std::size_t keys_max)
    : rate_(rate),
      per_second_(
          rate.unlimited() ? 0 : rate.count / std::chrono::duration<double>(rate.period).count()),
      keys_max_(keys_max) {}

double RateLimiter::refilled(const Bucket& bucket, Clock::TimePoint now) const {
  const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
  return std::min(rate_.count, bucket.tokens + std::max(0.0, elapsed) * per_second_);
}

bool RateLimiter::take(std::string_view key, Clock::TimePoint now, double cost) {
  if (unlimited()) return true;
  auto found = buckets_.find(std::string(key));
  if (found == buckets_.end()) {
    if (buckets_.size() >= keys_max_) prune(now);
    // A new client starts with a full bucket.
    found = buckets_.emplace(std::string(key), Bucket{rate_.count, now}).first;
  }
  Bucket& bucket = found->second;
  bucket.tokens = refilled(bucket, now);
  bucket.updated = now;
  // A request larger than the whole bucket can never fit; let it through on a full bucket
  // (and empty it) rather than refuse it forever.
  const double need = std::min(cost, rate_.count);
  if (bucket.tokens < need) return false;
  bucket.tokens -= cost;  // may go below zero: the debt delays the next request
  return true;
}

Clock::Duration RateLimiter::wait(std::string_view key, Clock::TimePoint now, double cost) const {
  if (unlimited()) return Clock::Duration::zero();
  const auto found = buckets_.find(std::string(key));
  if (found == buckets_.end()) return Clock::Duration::zero();
  const double missing = std::min(cost, rate_.count) - refilled(found->second, now);
  if (missing <= 0) return Clock::Duration::zero();
  return std::chrono::duration_cast<Clock::Duration>(
      std::chrono::duration<double>(missing / per_second_));
}

void RateLimiter::prune(Clock::TimePoint now) {
  std::erase_if(buckets_,
                [&](const auto& entry) { return refilled(entry.second, now) >= rate_.count; });
}

}  // namespace mta::injection
