// Shaping: the smallest limit that applies, and token buckets.
#include "delivery/shaping.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "base/ascii.h"

namespace mta::delivery {
namespace {

double smaller_rate(double a, double b) {
  if (a <= 0) return b;
  if (b <= 0) return a;
  return std::min(a, b);
}

bool ends_with_label(std::string_view host, std::string_view suffix) {
  // ".outlook.com" matches "x.outlook.com"; "outlook.com" also matches "outlook.com" itself.
  if (host.ends_with('.')) host.remove_suffix(1);
  if (suffix.empty() || host.size() < suffix.size()) return false;
  if (!iequals(host.substr(host.size() - suffix.size()), suffix)) return false;
  return suffix.front() == '.' || host.size() == suffix.size() ||
         host[host.size() - suffix.size() - 1] == '.';
}

}  // namespace

void Limits::tighten(const Limits& other) {
  connections_max = std::min(connections_max, other.connections_max);
  messages_per_connection_max =
      std::min(messages_per_connection_max, other.messages_per_connection_max);
  recipients_per_message_max =
      std::min(recipients_per_message_max, other.recipients_per_message_max);
  connections_per_source_max =
      std::min(connections_per_source_max, other.connections_per_source_max);
  messages_per_second = smaller_rate(messages_per_second, other.messages_per_second);
  messages_per_hour = smaller_rate(messages_per_hour, other.messages_per_hour);
  messages_per_day = smaller_rate(messages_per_day, other.messages_per_day);
  connections_per_minute = smaller_rate(connections_per_minute, other.connections_per_minute);
}

Limits Limits::per_shard(std::uint32_t shard_count) const {
  if (shard_count <= 1) return *this;
  Limits share = *this;
  const auto count = [shard_count](std::size_t n) {
    return n == unlimited ? n : std::max<std::size_t>(1, (n + shard_count - 1) / shard_count);
  };
  share.connections_max = count(connections_max);
  share.connections_per_source_max = count(connections_per_source_max);
  share.messages_per_second /= shard_count;
  share.messages_per_hour /= shard_count;
  share.messages_per_day /= shard_count;
  share.connections_per_minute /= shard_count;
  return share;
}

Limits Limits::fleet_share(std::size_t connections, std::uint32_t holders) const {
  Limits share = *this;
  share.connections_max = std::min(connections_max, connections);
  if (holders > 1) {
    share.messages_per_second /= holders;
    share.messages_per_hour /= holders;
    share.messages_per_day /= holders;
    share.connections_per_minute /= holders;
  }
  return share;
}

SharedRate::SharedRate(double amount, Clock::Duration period)
    : interval_(static_cast<std::int64_t>(static_cast<double>(period.count()) / amount)),
      tolerance_(period.count() - interval_) {}

bool SharedRate::take(Clock::TimePoint now) {
  const std::int64_t at = now.time_since_epoch().count();
  std::int64_t arrival = arrival_.load(std::memory_order_relaxed);
  while (true) {
    const std::int64_t from = std::max(arrival, at);
    if (from - at > tolerance_) return false;
    if (arrival_.compare_exchange_weak(arrival, from + interval_, std::memory_order_relaxed)) {
      return true;
    }
  }
}

Clock::TimePoint SharedRate::next_at(Clock::TimePoint now) const {
  const std::int64_t at = now.time_since_epoch().count();
  const std::int64_t arrival = arrival_.load(std::memory_order_relaxed);
  if (arrival == std::numeric_limits<std::int64_t>::min() || arrival - at <= tolerance_) return now;
  return Clock::TimePoint(Clock::Duration(arrival - tolerance_));
}

Limits Shaping::limits_for(const Limits& defaults, std::string_view domain,
                           const std::vector<std::string>& mx_hosts) const {
  Limits limits = defaults;
  for (const auto& rule : rules_) {
    bool applies = !rule.domain.empty() && iequals(rule.domain, domain);
    if (!rule.mx_suffix.empty()) {
      applies = applies || std::any_of(mx_hosts.begin(), mx_hosts.end(), [&](const auto& host) {
                  return ends_with_label(host, rule.mx_suffix);
                });
    }
    if (applies) limits.tighten(rule.limits);
  }
  return limits;
}

TokenBucket::TokenBucket(double amount, Clock::Duration period, Clock::TimePoint now)
    : amount_(std::max(1.0, amount)),
      per_nanosecond_(amount / static_cast<double>(period.count())),
      tokens_(std::max(1.0, amount)),
      at_(now) {}

void TokenBucket::refill(Clock::TimePoint now) {
  if (now <= at_) return;
  tokens_ = std::min(amount_, tokens_ + per_nanosecond_ * static_cast<double>((now - at_).count()));
  at_ = now;
}

bool TokenBucket::take(Clock::TimePoint now) {
  refill(now);
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

Clock::TimePoint TokenBucket::next_at(Clock::TimePoint now) {
  refill(now);
  if (tokens_ >= 1) return now;
  const double wait = std::ceil((1 - tokens_) / per_nanosecond_);
  return now + Clock::Duration(static_cast<Clock::Duration::rep>(wait));
}

RateGate::RateGate(const Limits& limits, Clock::TimePoint now) {
  using namespace std::chrono_literals;
  if (limits.messages_per_second > 0) messages_.emplace_back(limits.messages_per_second, 1s, now);
  if (limits.messages_per_hour > 0) messages_.emplace_back(limits.messages_per_hour, 1h, now);
  if (limits.messages_per_day > 0) messages_.emplace_back(limits.messages_per_day, 24h, now);
  if (limits.connections_per_minute > 0) {
    connections_.emplace_back(limits.connections_per_minute, 1min, now);
  }
}

namespace {

// Takes one token from every bucket, or from none.
bool take_all(std::vector<TokenBucket>& buckets, Clock::TimePoint now) {
  for (auto& bucket : buckets) {
    if (bucket.next_at(now) > now) return false;
  }
  for (auto& bucket : buckets) bucket.take(now);
  return true;
}

Clock::TimePoint latest(std::vector<TokenBucket>& buckets, Clock::TimePoint now) {
  Clock::TimePoint at = now;
  for (auto& bucket : buckets) at = std::max(at, bucket.next_at(now));
  return at;
}

}  // namespace

bool RateGate::take_message(Clock::TimePoint now) { return take_all(messages_, now); }
bool RateGate::take_connection(Clock::TimePoint now) { return take_all(connections_, now); }
Clock::TimePoint RateGate::message_at(Clock::TimePoint now) { return latest(messages_, now); }
Clock::TimePoint RateGate::connection_at(Clock::TimePoint now) { return latest(connections_, now); }

}  // namespace mta::delivery
