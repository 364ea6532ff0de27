// TtlCache: a per-shard cache of lookup results that honours TTLs (with a configurable floor
// and ceiling), keeps negative answers (RFC 2308) and coalesces lookups in flight: while one
// lookup of a key is running, later askers wait for it instead of starting another, so 10,000
// messages to a new domain cost one query. Pure: the caller passes `now` and runs the lookup.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/assert.h"
#include "base/clock.h"

namespace mta::dns {

struct CacheOptions {
  // Answers with a smaller TTL are kept this long: a zero-TTL domain must not cost one query
  // per message.
  std::chrono::seconds ttl_floor{30};
  // Answers are dropped after this long whatever their TTL (RFC 2308 §5 suggests 1 to 3 hours
  // for negative answers; positive ones may be refreshed daily).
  std::chrono::seconds ttl_ceiling{86400};
  // Entries beyond this evict expired ones first, then the entry closest to expiry.
  std::size_t entries_max = 100000;
};

// What kind of answer is stored: positive and negative answers are clamped to
// [ttl_floor, ttl_ceiling]; failures (SERVFAIL, timeout) only to the ceiling, since the floor
// is there to protect the servers from zero TTLs, not to prolong an outage.
enum class TtlKind : std::uint8_t { answer, failure };

std::chrono::seconds clamp_ttl(std::chrono::seconds ttl, TtlKind kind, const CacheOptions& options);

// Lifecycle: one per shard, owned by the resolver that fills it. Not thread-safe.
template <typename Value>
class TtlCache {
 public:
  using Waiter = std::function<void(const Value& value, std::chrono::seconds remaining)>;

  explicit TtlCache(CacheOptions options) : options_(options) {}

  // The fresh value under `key` and the seconds it has left (rounded up), or nullptr.
  const Value* find(const std::string& key, Clock::TimePoint now,
                    std::chrono::seconds* remaining = nullptr) const {
    const auto it = entries_.find(key);
    if (it == entries_.end() || it->second.expires <= now) return nullptr;
    if (remaining != nullptr) {
      *remaining = std::chrono::ceil<std::chrono::seconds>(it->second.expires - now);
    }
    return &it->second.value;
  }

  // Queues `waiter` for the lookup of `key`. True when no lookup of `key` was in flight: the
  // caller must start it and later call complete().
  bool wait(const std::string& key, Waiter waiter) {
    auto [it, first] = in_flight_.try_emplace(key);
    it->second.push_back(std::move(waiter));
    return first;
  }

  // Stores the result of the lookup of `key` for its clamped `ttl` and returns the waiters,
  // for the caller to run (after this returns, so they may look the key up again).
  std::vector<Waiter> complete(const std::string& key, Value value, std::chrono::seconds ttl,
                               TtlKind kind, Clock::TimePoint now) {
    const std::chrono::seconds kept = clamp_ttl(ttl, kind, options_);
    if (kept > std::chrono::seconds::zero()) {
      if (!entries_.contains(key) && entries_.size() >= options_.entries_max) evict(now);
      entries_.insert_or_assign(key, Entry{std::move(value), now + kept});
    }
    std::vector<Waiter> waiters;
    const auto it = in_flight_.find(key);
    MTA_ASSERT(it != in_flight_.end());
    waiters = std::move(it->second);
    in_flight_.erase(it);
    return waiters;
  }

  std::size_t size() const { return entries_.size(); }
  std::size_t in_flight() const { return in_flight_.size(); }
  const CacheOptions& options() const { return options_; }

 private:
  struct Entry {
    Value value;
    Clock::TimePoint expires;
  };

  void evict(Clock::TimePoint now) {
    std::erase_if(entries_, [now](const auto& item) { return item.second.expires <= now; });
    if (entries_.size() < options_.entries_max || entries_.empty()) return;
    auto soonest = entries_.begin();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->second.expires < soonest->second.expires) soonest = it;
    }
    entries_.erase(soonest);
  }

  CacheOptions options_;
  std::unordered_map<std::string, Entry> entries_;
  std::unordered_map<std::string, std::vector<Waiter>> in_flight_;
};

}  // namespace mta::dns
