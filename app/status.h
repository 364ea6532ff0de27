// StatusBoard: what the live console (`GET /`) and `GET /api/v1/status` show, kept current by
// the shards without stopping them: each shard publishes its totals and destinations once a
// second (sync_metrics, delivery::destination_views), every outcome reaches the board's
// observers as it is recorded (delivery::ErrorGroups for the grouped deferrals and bounces,
// delivery::DestinationActivity for each destination's rate, waiting recipients and last error),
// and shard 0 keeps a minute of totals for the rates now and an hour in 10 s buckets for the
// chart (Throughput). A request renders from the board alone, on any thread.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "app/throughput.h"
#include "base/clock.h"
#include "delivery/destination_view.h"
#include "delivery/error_groups.h"
#include "delivery/observers.h"
#include "delivery/outcome.h"
#include "mailbox/bounce_rules.h"

namespace mta::app {

// Counts since start, of one shard or summed.
struct StatusTotals {
  std::uint64_t received = 0;
  std::uint64_t delivered = 0;
  std::uint64_t deferred = 0;
  std::uint64_t bounced = 0;
  std::uint64_t suppressed = 0;
  std::array<std::uint64_t, mailbox::kCategoryCount> bounce_categories{};
  StatusTotals& operator+=(const StatusTotals& other);
};

struct StatusInfo {
  std::string version;
  std::string node;
  Clock::WallTime started_at{};
  std::uint32_t shards = 0;
  bool ready = false;
  bool draining = false;
};

// Observes every shard's delivery outcomes (grouped errors, per-destination activity) and takes
// their totals.
class StatusBoard final : public delivery::OutcomeObserver {
 public:
  explicit StatusBoard(std::uint32_t shard_count);

  // Shard `shard`, once a second: its totals and its destinations with something to show.
  void publish(std::uint32_t shard, const StatusTotals& totals,
               std::vector<delivery::DestinationView> destinations);
  // Shard 0, once a second after publishing: appends the sum to the rate history and the hour.
  void sample(Clock::WallTime now);
  // Who suspended a destination (the operator, the crash-loop breaker), told by whoever does it;
  // `until` nullopt: resumed. A suspension the board was not told of is a response rule's.
  void note_suspension(const std::string& destination, std::optional<Clock::WallTime> until,
                       std::string reason);
  // Any shard: every outcome (the observers keep what they need of it).
  void on_outcome(std::uint32_t shard, const delivery::RecipientOutcome& outcome) override {
    errors_.on_outcome(shard, outcome);
    activity_.on_outcome(shard, outcome);
    note(outcome);
  }

  // The JSON of GET /api/v1/status (app/status_page.html reads it).
  std::string render_json(const StatusInfo& info, Clock::WallTime now) const;

 private:
  // The last 20 deferrals and bounces one by one (recent_deferrals, recent_bounces): kept for
  // API clients that read them; the console shows the groups.
  struct Event {
    Clock::WallTime at;
    std::string destination;
    std::string recipient;
    std::string reply;
  };
  void note(const delivery::RecipientOutcome& outcome);

  struct Sample {
    Clock::WallTime at;
    StatusTotals totals;
  };

  delivery::ErrorGroups errors_;
  delivery::DestinationActivity activity_;
  mutable std::mutex mutex_;
  std::vector<StatusTotals> totals_;                            // by shard
  std::vector<std::vector<delivery::DestinationView>> queues_;  // by shard
  std::deque<Sample> history_;                                  // a minute, oldest first
  Throughput hour_;
  std::deque<Event> deferrals_;  // newest first
  std::deque<Event> bounces_;
  std::map<std::string, std::pair<Clock::WallTime, std::string>> suspensions_;  // until, reason
};

}  // namespace mta::app
