#include "metrics/line_log_metrics.h"

namespace mta::metrics {

LineLogMetrics::LineLogMetrics(Catalog& catalog) {
  using Counts = const LineLogCounts&;
  counters_.follow(declare_counter(catalog, {"outpost_delivery_log_lines_total",
                                             "Lines written to the JSON delivery log.",
                                             {}}),
                   {}, [](Counts n) { return n.lines; });
  const auto lost = declare_counter(
      catalog, {"outpost_delivery_log_dropped_total",
                "Delivery log lines lost: the writer fell behind (dropped) or a write failed.",
                {"reason"}});
  counters_.follow(lost, {"behind"}, [](Counts n) { return n.dropped; });
  counters_.follow(lost, {"write_failed"}, [](Counts n) { return n.failures; });
}

}  // namespace mta::metrics
