// Bouncer: turns the recipients one delivery attempt bounced into one DSN (RFC 3464) to the
// part's envelope sender, and queues that DSN like any other message, through the shard's
// group commit (never a synced write on the reactor). A part with the null sender never
// bounces (RFC 5321 §4.5.5): its failures are only counted and logged.
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
  // Makes a new message durable and then calls back on this shard (app/ passes the shard's
  // group commit).
  using CommitFn = std::function<void(std::vector<queue::Envelope>&& parts, std::string&& body,
                                      std::function<void(const Result<void>&)> done)>;
  // true: the DSN is durable, or none was needed. false: it could not be stored; the caller
  // keeps the part as it was so a later attempt bounces again.
  using DoneFn = std::function<void(bool settled)>;

  Bouncer(engine::Shard& shard, queue::Store& store, queue::MessageIdGenerator& ids,
          BounceOptions options, RouteFn route, QueuedFn on_queued, CommitFn commit);

  // `recipients` index part.recipients; their last_reply is the diagnostic. The part must stay
  // stored until `done` (the DSN quotes the original header block from the stored body).
  // `done` runs at once when no DSN is due (no recipients, or the null sender).
  void bounce(const queue::Envelope& part, const std::vector<std::size_t>& recipients,
              std::string_view remote_mta, DoneFn done);

  const BounceProbe& probe() const { return probe_; }

 private:
  engine::Shard& shard_;
  queue::Store& store_;
  queue::MessageIdGenerator& ids_;
  BounceOptions options_;
  RouteFn route_;
  QueuedFn on_queued_;
  CommitFn commit_;
  BounceProbe probe_;
};

}  // namespace mta::delivery
