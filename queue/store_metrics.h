// The queue's metric families: failed store writes or reads, by the path that saw them, and
// the duration of a group commit (the synced write of a batch of accepted messages).
#pragma once

#include <cstdint>

#include "metrics/probe_counters.h"

namespace mta::queue {

class StoreMetrics {
 public:
  // Store failures one shard's paths counted (their probes' store_failures).
  struct Failures {
    std::uint64_t injection = 0;  // SMTP and HTTP injection (answered 451/452)
    std::uint64_t delivery = 0;
  };
  struct Shard {
    metrics::FollowedCounters::Shard counters;
    metrics::Histogram* commit_seconds;  // for the group committer
  };

  explicit StoreMetrics(metrics::Catalog& catalog);
  Shard bind(metrics::Registry& registry) const;
  void publish(Shard& shard, const Failures& now) const { counters_.publish(shard.counters, now); }

 private:
  metrics::ProbeCounters<Failures> counters_;
  metrics::HistogramFamily commit_seconds_{};
};

}  // namespace mta::queue
