// What the console shows per destination (app/status.h), gathered without changing delivery:
// destination_views() reads a shard's dispatchers (counts, connections, the next due time,
// suspension and throttle), and DestinationActivity, an outcome observer, keeps what only the
// outcomes tell (the delivery rate now, the recipients waiting for a retry and the oldest of
// their messages, the last error).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "delivery/observers.h"

namespace mta::delivery {

class ShardDelivery;

struct DestinationView {
  std::string destination;
  std::string kind;               // "domain", "pool" (the pool of one MX host set) or "relay"
  std::string pool;               // a domain whose due parts go to a pool: that pool's name
  std::uint64_t parts = 0;        // waiting, due or in a transaction
  std::uint64_t in_flight = 0;    // in a transaction now
  std::uint64_t connections = 0;  // its own open connections (a routing domain has none)
  std::uint64_t connections_max = 0;
  std::optional<Clock::WallTime> next_attempt;  // the earliest due time of the waiting parts
  std::optional<Clock::WallTime> suspended_until;
  bool throttled = false;  // a response rule's throttle is in force
  // A pool: how many of its busy connections carry each domain's mail now.
  std::vector<std::pair<std::string, std::uint64_t>> carrying;
};

// The shard's destinations with something to show: parts, connections, a suspension or a
// throttle. On the shard's thread.
std::vector<DestinationView> destination_views(const ShardDelivery& delivery);

struct DestinationActivityView {
  double delivered_per_second = 0;       // over the last rate_window()
  std::uint64_t recipients_waiting = 0;  // deferred by an attempt since start, not settled yet
  std::optional<Clock::WallTime> oldest_received;  // the oldest message among those
  std::string last_error;                          // the last deferral or bounce reply
  std::optional<Clock::WallTime> last_error_at;
};

// An outcome observer on every shard (thread-safe: one mutex, taken once per outcome). Bounded:
// at most `destinations_max` destinations (the one quiet longest goes first) and
// `parts_max` tracked parts per destination (beyond it waiting recipients are not counted).
class DestinationActivity final : public OutcomeObserver {
 public:
  explicit DestinationActivity(std::size_t destinations_max = 10'000,
                               std::size_t parts_max = 20'000);
  static constexpr Clock::Duration rate_window() { return std::chrono::seconds(10); }

  void on_outcome(std::uint32_t shard, const RecipientOutcome& outcome) override;

  // By destination (lowercase).
  std::unordered_map<std::string, DestinationActivityView> snapshot(Clock::WallTime now) const;

 private:
  struct Part {
    Clock::WallTime received_at{};
    std::vector<std::string> waiting;  // recipients deferred, not settled since
  };
  struct Destination {
    std::int64_t slot_second[10] = {};  // delivered per second, by epoch second % 10
    std::uint64_t slot_count[10] = {};
    std::map<std::pair<std::uint64_t, std::uint32_t>, Part> parts;
    std::uint64_t waiting = 0;
    std::string last_error;
    std::optional<Clock::WallTime> last_error_at;
    Clock::WallTime last_seen{};
  };
  void evict_quietest();

  const std::size_t destinations_max_;
  const std::size_t parts_max_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Destination> destinations_;
};

}  // namespace mta::delivery
