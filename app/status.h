// StatusBoard: what the live status page (`GET /`) and `GET /api/v1/status` show, kept current
// by the shards without stopping them: each shard publishes its totals and destinations once a
// second (sync_metrics), deferrals and bounces arrive as they are recorded, and shard 0 keeps a
// minute of totals for the rates. A request renders from the board alone, on any thread.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
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

struct DestinationStatus {
  std::string destination;
  std::uint64_t parts = 0;
  std::uint64_t connections = 0;
  std::optional<Clock::WallTime> suspended_until;
};

struct StatusInfo {
  std::string version;
  std::string node;
  Clock::WallTime started_at{};
  std::uint32_t shards = 0;
  bool ready = false;
  bool draining = false;
};

// Observes every shard's delivery outcomes (the recent lists) and takes their totals.
class StatusBoard final : public delivery::OutcomeObserver {
 public:
  explicit StatusBoard(std::uint32_t shard_count, std::size_t recent_max = 20);

  // Shard `shard`, once a second: its totals and its destinations with parts or connections.
  void publish(std::uint32_t shard, const StatusTotals& totals,
               std::vector<DestinationStatus> destinations);
  // Shard 0, once a second after publishing: appends the sum to the rate history.
  void sample(Clock::WallTime now);
  // Any shard: a deferral or bounce for the recent lists (other outcomes are ignored).
  void note(const delivery::RecipientOutcome& outcome);
  void on_outcome(std::uint32_t /*shard*/, const delivery::RecipientOutcome& outcome) override {
    note(outcome);
  }

  // The JSON of GET /api/v1/status (app/status_page.html reads it).
  std::string render_json(const StatusInfo& info, Clock::WallTime now) const;

 private:
  struct Event {
    Clock::WallTime at;
    std::string destination;
    std::string recipient;
    std::string reply;
  };
  struct Sample {
    Clock::WallTime at;
    StatusTotals totals;
  };

  const std::size_t recent_max_;
  mutable std::mutex mutex_;
  std::vector<StatusTotals> totals_;                    // by shard
  std::vector<std::vector<DestinationStatus>> queues_;  // by shard
  std::deque<Sample> history_;                          // a minute, oldest first
  std::deque<Event> deferrals_;                         // newest first
  std::deque<Event> bounces_;
};

}  // namespace mta::app
