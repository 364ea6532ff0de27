// Who hears of the recipient outcomes a shard's delivery settles (delivery/outcome.h): each
// observer is told in turn, on that shard. Delivery brings the JSON delivery log's
// (DeliveryLogWriter); app/ adds its own (per-destination metrics, the status page).
#pragma once

#include <cstdint>
#include <vector>

#include "delivery/outcome.h"
#include "metrics/line_log.h"

namespace mta::delivery {

class OutcomeObserver {
 public:
  virtual ~OutcomeObserver() = default;
  // On the shard that settled the outcome; `shard` is its index.
  virtual void on_outcome(std::uint32_t shard, const RecipientOutcome& outcome) = 0;
};

// The OutcomeFn (ShardDelivery::set_on_outcome) of shard `shard`: tells every observer, in order;
// nullptr entries are skipped.
OutcomeFn tell_observers(std::uint32_t shard, std::vector<OutcomeObserver*> observers);

// Each outcome as a delivery_log_line of the log (one channel per shard; a full channel drops
// the line and the log counts it).
class DeliveryLogWriter final : public OutcomeObserver {
 public:
  explicit DeliveryLogWriter(metrics::LineLog& log) : log_(log) {}
  void on_outcome(std::uint32_t shard, const RecipientOutcome& outcome) override;

 private:
  metrics::LineLog& log_;
};

}  // namespace mta::delivery
