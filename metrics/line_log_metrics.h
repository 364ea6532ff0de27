// The delivery log's metric families (LineLog, line_log.h): lines written, and lines lost.
#pragma once

#include <cstdint>

#include "metrics/probe_counters.h"

namespace mta::metrics {

// What the LineLog counted (lines_written(), lines_dropped(), write_failures()).
struct LineLogCounts {
  std::uint64_t lines = 0;
  std::uint64_t dropped = 0;
  std::uint64_t failures = 0;
};

class LineLogMetrics {
 public:
  using Shard = ProbeCounters<LineLogCounts>::Shard;

  // Declares outpost_delivery_log_lines_total and outpost_delivery_log_dropped_total.
  explicit LineLogMetrics(Catalog& catalog);
  Shard bind(Registry& registry) const { return counters_.bind(registry); }
  // One shard reports the log (its counts are the whole file's); the others publish zeros.
  void publish(Shard& shard, const LineLogCounts& now) const { counters_.publish(shard, now); }

 private:
  ProbeCounters<LineLogCounts> counters_;
};

}  // namespace mta::metrics
