// Snapshot: one scrape's values of every family, merged across the shards' registries and
// sorted, ready to render (exposition.h) or to check in a test. Collecting runs on the scraping
// thread and reads each registry while its shard keeps writing; it never blocks the hot path.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "metrics/catalog.h"
#include "metrics/registry.h"

namespace mta::metrics {

struct SeriesSnapshot {
  std::vector<std::string> label_values;  // one per label of the family, in its order
  std::uint64_t count = 0;                // counter: the total; histogram: _count
  double value = 0;                       // gauge: the merged value; histogram: _sum
  // Histogram only: cumulative counts for le = bucket_bounds[i], then le = "+Inf" (== count).
  std::vector<std::uint64_t> cumulative_buckets;
};

struct FamilySnapshot {
  const Family* family = nullptr;
  std::vector<SeriesSnapshot> series;  // sorted by label values, each label set once
};

// Every family of catalog, in declaration order, merged over shards: counters and histograms
// add up; gauges follow their family's GaugeMerge. A bounded family shows each admitted value
// and the overflow value only once they count something. Each registry must be built from
// catalog; each value is read once, so a series is never torn, though a scrape is not an
// atomic cut across series.
std::vector<FamilySnapshot> collect(const Catalog& catalog,
                                    std::span<const Registry* const> shards);

}  // namespace mta::metrics
