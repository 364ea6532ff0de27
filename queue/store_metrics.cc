#include "queue/store_metrics.h"

#include "metrics/buckets.h"

namespace mta::queue {

StoreMetrics::StoreMetrics(metrics::Catalog& catalog) {
  const auto failures = metrics::declare_counter(
      catalog, {"outpost_queue_store_failures_total",
                "Failed queue writes or reads, by path (injection answered 451/452).",
                {"path"}});
  counters_.follow(failures, {"injection"}, [](const Failures& n) { return n.injection; });
  counters_.follow(failures, {"delivery"}, [](const Failures& n) { return n.delivery; });
  commit_seconds_ = metrics::declare_histogram(
      catalog,
      {"outpost_queue_commit_seconds",
       "One group commit: the synced queue write of a batch of accepted messages.",
       {}},
      metrics::local_work_buckets());
}

StoreMetrics::Shard StoreMetrics::bind(metrics::Registry& registry) const {
  return {.counters = counters_.bind(registry),
          .commit_seconds = &registry.histogram(commit_seconds_)};
}

}  // namespace mta::queue
