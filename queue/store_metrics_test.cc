#include "queue/store_metrics.h"

#include <gtest/gtest.h>

#include "metrics/scrape_for_test.h"

namespace mta::queue {
namespace {

TEST(StoreMetrics, FailuresByPathAndCommitDurations) {
  metrics::Catalog catalog;
  const StoreMetrics store_metrics(catalog);
  metrics::Registry registry(catalog);
  auto shard = store_metrics.bind(registry);
  store_metrics.publish(shard, {.injection = 2, .delivery = 5});
  shard.commit_seconds->observe(0.002);
  const auto value = [&](std::string_view series) {
    return metrics::scraped_for_test(catalog, registry, series);
  };
  EXPECT_EQ(value(R"(outpost_queue_store_failures_total{path="injection"})"), 2);
  EXPECT_EQ(value(R"(outpost_queue_store_failures_total{path="delivery"})"), 5);
  EXPECT_EQ(value("outpost_queue_commit_seconds_count"), 1);
}

}  // namespace
}  // namespace mta::queue
