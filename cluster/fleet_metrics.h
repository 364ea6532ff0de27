// Fleet mode's metric families: exchanges with Redis, outages, whether Redis answers, and the
// live nodes; from Fleet::counters() (zero when the node is alone).
#pragma once

#include "cluster/fleet.h"
#include "metrics/probe_counters.h"

namespace mta::cluster {

class FleetMetrics {
 public:
  struct Shard {
    metrics::FollowedCounters::Shard counters;
    metrics::Gauge* redis_up;
    metrics::Gauge* nodes;
  };

  explicit FleetMetrics(metrics::Catalog& catalog);
  Shard bind(metrics::Registry& registry) const;
  // on: fleet mode is configured and this shard reports it (shard 0).
  void publish(Shard& shard, const Fleet::Counters& now, bool on) const;

 private:
  metrics::ProbeCounters<Fleet::Counters> counters_;
  metrics::GaugeFamily redis_up_{};
  metrics::GaugeFamily nodes_{};
};

}  // namespace mta::cluster
