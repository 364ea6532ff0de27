#include "cluster/fleet_metrics.h"

#include <gtest/gtest.h>

#include "metrics/scrape_for_test.h"

namespace mta::cluster {
namespace {

TEST(FleetMetrics, SyncsByResultAndGaugesOnlyWhileConnected) {
  metrics::Catalog catalog;
  const FleetMetrics fleet_metrics(catalog);
  metrics::Registry registry(catalog);
  auto shard = fleet_metrics.bind(registry);
  const auto value = [&](std::string_view series) {
    return metrics::scraped_for_test(catalog, registry, series);
  };
  Fleet::Counters counters{.syncs = 10, .failures = 3, .outages = 1, .connected = true, .nodes = 4};
  fleet_metrics.publish(shard, counters, true);
  EXPECT_EQ(value(R"(outpost_fleet_syncs_total{result="ok"})"), 7);
  EXPECT_EQ(value(R"(outpost_fleet_syncs_total{result="failed"})"), 3);
  EXPECT_EQ(value("outpost_fleet_outages_total"), 1);
  EXPECT_EQ(value("outpost_fleet_redis_up"), 1);
  EXPECT_EQ(value("outpost_fleet_nodes"), 4);
  fleet_metrics.publish(shard, counters, false);  // not this shard's, or no fleet
  EXPECT_EQ(value("outpost_fleet_redis_up"), 0);
  EXPECT_EQ(value("outpost_fleet_nodes"), 0);
}

}  // namespace
}  // namespace mta::cluster
