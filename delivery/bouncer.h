// Bouncer: turns the recipients one delivery attempt bounced into one DSN (RFC 3464) to the
// part's envelope sender, and queues that DSN like any other message. A part with the null
// sender never bounces (RFC 5321 §4.5.5): its failures are only counted and logged.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "engine/shard.h"
#include "queue/message_id.h"
#include "queue/store.h"

namespace mta::delivery {

struct BounceOptions {
  std::string hostname = "outpost.localhost";  // Reporting-MTA and the DSN's From domain
  Clock::Duration max_age = std::chrono::hours(72);
};

struct BounceProbe {
  std::uint64_t dsns_queued = 0;
  std::uint64_t null_sender_failures = 0;  // bounced recipients of <> messages: no DSN
  std::uint64_t dsn_failures = 0;          // the DSN could not be written (logged)
};

// One per shard, used on its thread.
class Bouncer {
 public:
  using RouteFn = std::function<std::string(std::string_view recipient)>;
  using QueuedFn = std::function<void(const queue::ScheduledItem& part)>;

  Bouncer(engine::Shard& shard, queue::Store& store, queue::MessageIdGenerator& ids,
          BounceOptions options, RouteFn route, QueuedFn on_queued);

  // `recipients` index part.recipients; their last_reply is the diagnostic. Must run before
  // the part is removed (the DSN quotes the original header block from the stored body).
  void bounce(const queue::Envelope& part, const std::vector<std::size_t>& recipients,
              std::string_view remote_mta);

  const BounceProbe& probe() const { return probe_; }

 private:
  engine::Shard& shard_;
  queue::Store& store_;
  queue::MessageIdGenerator& ids_;
  BounceOptions options_;
  RouteFn route_;
  QueuedFn on_queued_;
  BounceProbe probe_;
};

}  // namespace mta::delivery
