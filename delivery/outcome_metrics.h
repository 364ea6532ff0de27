// Recipient outcomes as metrics: deliveries by destination and by tenant (bounded labels), and
// the time from acceptance to a recipient's final disposition. Counted as each outcome happens
// (the dispatcher's OutcomeFn), not from a probe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "delivery/observers.h"
#include "delivery/outcome.h"
#include "metrics/probe_counters.h"

namespace mta::delivery {

class OutcomeMetrics {
 public:
  // By RecipientState: delivered, deferred, bounced, suppressed.
  struct Shard {
    std::array<metrics::BoundedCounter*, 4> by_destination;
    std::array<metrics::BoundedCounter*, 4> by_tenant;
    metrics::Histogram* duration;
  };

  // destinations_max, tenants_max: label values with series of their own (the rest count as
  // "other" and "(other)").
  OutcomeMetrics(metrics::Catalog& catalog, std::size_t destinations_max, std::size_t tenants_max);
  Shard bind(metrics::Registry& registry) const;
  // On the shard's thread. A pending recipient counts nothing; a deferred one no duration.
  static void count(Shard& shard, const RecipientOutcome& outcome);

 private:
  metrics::BoundedCounterFamily by_destination_{};
  metrics::BoundedCounterFamily by_tenant_{};
  metrics::HistogramFamily duration_{};
};

// Counts each outcome into its shard's bound families: an observer of every shard's delivery
// (observers.h), so outcomes reach their metrics without passing through app/.
class OutcomeCounter final : public OutcomeObserver {
 public:
  // By shard index; each stays bound for the daemon's life.
  explicit OutcomeCounter(std::vector<OutcomeMetrics::Shard*> shards)
      : shards_(std::move(shards)) {}
  void on_outcome(std::uint32_t shard, const RecipientOutcome& outcome) override {
    if (shard < shards_.size()) OutcomeMetrics::count(*shards_[shard], outcome);
  }

 private:
  std::vector<OutcomeMetrics::Shard*> shards_;
};

}  // namespace mta::delivery
