#include "metrics/line_log_metrics.h"

#include <gtest/gtest.h>

#include "metrics/scrape_for_test.h"

namespace mta::metrics {
namespace {

TEST(LineLogMetrics, PublishesLinesAndLossesByReason) {
  Catalog catalog;
  const LineLogMetrics metrics(catalog);
  Registry registry(catalog);
  auto shard = metrics.bind(registry);
  metrics.publish(shard, {.lines = 10, .dropped = 2, .failures = 1});
  EXPECT_EQ(scraped_for_test(catalog, registry, "outpost_delivery_log_lines_total"), 10);
  EXPECT_EQ(
      scraped_for_test(catalog, registry, R"(outpost_delivery_log_dropped_total{reason="behind"})"),
      2);
  EXPECT_EQ(scraped_for_test(catalog, registry,
                             R"(outpost_delivery_log_dropped_total{reason="write_failed"})"),
            1);
}

}  // namespace
}  // namespace mta::metrics
