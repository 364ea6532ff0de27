// Recipient outcomes as metrics: deliveries by destination and by tenant (bounded labels), and
// the time from acceptance to a recipient's final disposition. Counted as each outcome happens
// (the dispatcher's OutcomeFn), not from a probe.
#pragma once

#include <array>
#include <cstddef>

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

}  // namespace mta::delivery
