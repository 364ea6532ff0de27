// Tests of ProbeCounters: series follow probe fields by their growth, per shard, and a field
// that goes down adds nothing.
#include "metrics/probe_counters.h"

#include <gtest/gtest.h>

#include "metrics/scrape_for_test.h"

namespace mta::metrics {
namespace {

struct FakeProbe {
  std::uint64_t accepted = 0;
  std::uint64_t refused = 0;
};

TEST(ProbeCounters, SeriesFollowTheGrowthOfTheirField) {
  Catalog catalog;
  ProbeCounters<FakeProbe> counters;
  const auto family =
      declare_counter(catalog, {"outpost_things_total", "Things, by result.", {"result"}});
  counters.follow(family, {"accepted"}, [](const FakeProbe& p) { return p.accepted; });
  counters.follow(family, {"refused"}, [](const FakeProbe& p) { return p.refused; });
  Registry shard0(catalog), shard1(catalog);
  auto bound0 = counters.bind(shard0);
  auto bound1 = counters.bind(shard1);
  const Registry* both[] = {&shard0, &shard1};
  EXPECT_EQ(scraped_for_test(catalog, both, R"(outpost_things_total{result="refused"})"), 0);

  counters.publish(bound0, {.accepted = 3, .refused = 1});
  counters.publish(bound1, {.accepted = 4, .refused = 0});
  counters.publish(bound0, {.accepted = 5, .refused = 1});
  EXPECT_EQ(scraped_for_test(catalog, both, R"(outpost_things_total{result="accepted"})"), 9);
  EXPECT_EQ(scraped_for_test(catalog, both, R"(outpost_things_total{result="refused"})"), 1);
}

TEST(ProbeCounters, AFieldThatWentDownAddsNothing) {
  Catalog catalog;
  ProbeCounters<FakeProbe> counters;
  counters.follow(declare_counter(catalog, {"outpost_things_total", "Things.", {}}), {},
                  [](const FakeProbe& p) { return p.accepted; });
  Registry shard(catalog);
  auto bound = counters.bind(shard);
  counters.publish(bound, {.accepted = 7});
  counters.publish(bound, {.accepted = 2});  // what it counts started again
  EXPECT_EQ(scraped_for_test(catalog, shard, "outpost_things_total"), 7);
  counters.publish(bound, {.accepted = 5});
  EXPECT_EQ(scraped_for_test(catalog, shard, "outpost_things_total"), 10);
}

TEST(ProbeCountersDeathTest, ABadFixedNameAsserts) {
  Catalog catalog;
  EXPECT_DEATH(declare_counter(catalog, {"outpost_things", "Not a counter name.", {}}), "");
}

}  // namespace
}  // namespace mta::metrics
