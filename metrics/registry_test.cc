// Tests of Registry handles and of collect(): values from several shard registries merged per
// family type, bounded labels overflowing into "other", cumulative histogram buckets, callback
// gauges, and shards writing while a scraper reads.
#include "metrics/registry.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <vector>

#include "metrics/exposition.h"
#include "metrics/exposition_parser_for_test.h"
#include "metrics/snapshot.h"

namespace mta::metrics {
namespace {

const SeriesSnapshot* find_series(const std::vector<FamilySnapshot>& snapshot,
                                  std::string_view family,
                                  const std::vector<std::string>& label_values) {
  for (const FamilySnapshot& f : snapshot) {
    if (f.family->name != family) continue;
    for (const SeriesSnapshot& s : f.series) {
      if (s.label_values == label_values) return &s;
    }
  }
  return nullptr;
}

TEST(Registry, SameLabelsGiveTheSameHandle) {
  Catalog catalog;
  const auto family = catalog.add_counter({"outpost_c_total", "C.", {"listener"}}).value();
  Registry registry(catalog);
  Counter& a = registry.counter(family, {"smtp"});
  Counter& b = registry.counter(family, {"http"});
  EXPECT_EQ(&a, &registry.counter(family, {"smtp"}));
  EXPECT_NE(&a, &b);
  a.inc();
  a.add(4);
  EXPECT_EQ(a.value(), 5u);
  EXPECT_EQ(b.value(), 0u);
}

TEST(Collect, CountersAddUpAcrossShards) {
  Catalog catalog;
  const auto family = catalog.add_counter({"outpost_c_total", "C.", {"listener"}}).value();
  const auto unlabeled = catalog.add_counter({"outpost_u_total", "U.", {}}).value();
  Registry shard0(catalog), shard1(catalog), shard2(catalog);
  shard0.counter(family, {"smtp"}).add(3);
  shard1.counter(family, {"smtp"}).add(4);
  shard1.counter(family, {"http"}).add(10);
  shard2.counter(family, {"http"}).inc();
  shard2.counter(unlabeled).add(7);
  shard0.counter(unlabeled);  // resolved, never incremented: present at zero
  const Registry* shards[] = {&shard0, &shard1, &shard2};
  const auto snapshot = collect(catalog, shards);
  ASSERT_EQ(snapshot.size(), 2u);
  ASSERT_EQ(snapshot[0].series.size(), 2u);
  // Sorted by label value: http before smtp.
  EXPECT_EQ(snapshot[0].series[0].label_values, (std::vector<std::string>{"http"}));
  EXPECT_EQ(snapshot[0].series[0].count, 11u);
  EXPECT_EQ(snapshot[0].series[1].label_values, (std::vector<std::string>{"smtp"}));
  EXPECT_EQ(snapshot[0].series[1].count, 7u);
  ASSERT_EQ(snapshot[1].series.size(), 1u);
  EXPECT_EQ(snapshot[1].series[0].count, 7u);
}

TEST(Collect, GaugesMergeAsTheirFamilySays) {
  Catalog catalog;
  const auto sum = catalog.add_gauge({"outpost_sum", "S.", {}}, GaugeMerge::sum).value();
  const auto max = catalog.add_gauge({"outpost_max", "M.", {}}, GaugeMerge::max).value();
  const auto first = catalog.add_gauge({"outpost_first", "F.", {}}, GaugeMerge::first).value();
  Registry shard0(catalog), shard1(catalog), shard2(catalog);
  struct Case {
    GaugeFamily family;
    double values[3];
    double want;
  };
  const Case cases[] = {
      {sum, {1.5, 2, -0.5}, 3},
      {max, {-4, -2, -3}, -2},  // max of negatives: not max(0, ...)
      {first, {8, 9, 10}, 8},
  };
  Registry* shards[] = {&shard0, &shard1, &shard2};
  for (const Case& c : cases) {
    for (int i = 0; i < 3; ++i) shards[i]->gauge(c.family).set(c.values[i]);
  }
  shard0.gauge(sum).inc();  // back to 1.5 after dec()
  shard0.gauge(sum).dec();
  const Registry* readers[] = {&shard0, &shard1, &shard2};
  const auto snapshot = collect(catalog, readers);
  for (std::size_t i = 0; i < 3; ++i) {
    ASSERT_EQ(snapshot[i].series.size(), 1u);
    EXPECT_EQ(snapshot[i].series[0].value, cases[i].want) << snapshot[i].family->name;
  }
}

TEST(Collect, CallbackGaugesAreReadAtScrapeTime) {
  Catalog catalog;
  const auto depth = catalog.add_gauge({"outpost_queue_messages", "Q.", {"shard"}}).value();
  const auto open = catalog.add_gauge({"outpost_connections_open", "O.", {}}).value();
  Registry shard0(catalog), shard1(catalog);
  std::atomic<int> queued0{5}, queued1{6};
  shard0.gauge_callback(depth, {"0"}, [&] { return double(queued0.load()); });
  shard1.gauge_callback(depth, {"1"}, [&] { return double(queued1.load()); });
  shard0.gauge_callback(open, {}, [] { return 2.0; });
  shard1.gauge_callback(open, {}, [] { return 3.0; });
  const Registry* shards[] = {&shard0, &shard1};
  queued1 = 60;
  const auto snapshot = collect(catalog, shards);
  EXPECT_EQ(find_series(snapshot, "outpost_queue_messages", {"0"})->value, 5);
  EXPECT_EQ(find_series(snapshot, "outpost_queue_messages", {"1"})->value, 60);
  EXPECT_EQ(find_series(snapshot, "outpost_connections_open", {})->value, 5);
}

TEST(Collect, HistogramBucketsAreCumulative) {
  Catalog catalog;
  const auto family =
      catalog.add_histogram({"outpost_delivery_seconds", "D.", {}}, {0.1, 1, 10}).value();
  Registry shard0(catalog), shard1(catalog);
  Histogram& h0 = shard0.histogram(family);
  Histogram& h1 = shard1.histogram(family);
  // Bounds are inclusive ("le"): 0.1 lands in the 0.1 bucket, 10.5 and NaN in +Inf.
  for (double v : {0.05, 0.1, 0.5}) h0.observe(v);
  h1.observe(std::chrono::milliseconds(1000));
  h1.observe(2.0);
  h1.observe(10.5);
  EXPECT_EQ(h0.bucket(0), 2u);
  EXPECT_EQ(h0.bucket(1), 1u);
  EXPECT_EQ(h1.bucket(1), 1u);  // 1 s is <= 1
  const Registry* shards[] = {&shard0, &shard1};
  const auto snapshot = collect(catalog, shards);
  ASSERT_EQ(snapshot[0].series.size(), 1u);
  const SeriesSnapshot& s = snapshot[0].series[0];
  EXPECT_EQ(s.cumulative_buckets, (std::vector<std::uint64_t>{2, 4, 5, 6}));
  EXPECT_EQ(s.count, 6u);
  EXPECT_DOUBLE_EQ(s.value, 0.05 + 0.1 + 0.5 + 1 + 2 + 10.5);
}

TEST(Collect, BoundedLabelsOverflowIntoOther) {
  Catalog catalog;
  const auto family = catalog
                          .add_bounded_counter({"outpost_sent_total", "S.", {"result"}},
                                               {.name = "destination", .values_max = 2})
                          .value();
  Registry shard0(catalog), shard1(catalog);
  BoundedCounter& delivered0 = shard0.bounded_counter(family, {"delivered"});
  BoundedCounter& delivered1 = shard1.bounded_counter(family, {"delivered"});
  BoundedCounter& bounced1 = shard1.bounded_counter(family, {"bounced"});
  delivered0.inc("gmail.com");       // admitted as 0
  delivered1.add("outlook.com", 2);  // admitted as 1, table now full
  delivered1.inc("gmail.com");
  delivered0.inc("web.de");  // overflow
  delivered1.add("gmx.net", 5);
  bounced1.inc("gmx.net");
  bounced1.inc("outlook.com");
  const Registry* shards[] = {&shard0, &shard1};
  const auto snapshot = collect(catalog, shards);
  struct Want {
    std::vector<std::string> labels;
    std::uint64_t count;
  };
  const Want wants[] = {
      {{"bounced", "other"}, 1},         {{"bounced", "outlook.com"}, 1},
      {{"delivered", "gmail.com"}, 2},   {{"delivered", "other"}, 6},
      {{"delivered", "outlook.com"}, 2},
  };
  ASSERT_EQ(snapshot[0].series.size(), std::size(wants));  // no zero series (bounced/gmail)
  for (std::size_t i = 0; i < std::size(wants); ++i) {
    EXPECT_EQ(snapshot[0].series[i].label_values, wants[i].labels) << i;
    EXPECT_EQ(snapshot[0].series[i].count, wants[i].count) << i;
  }
}

TEST(Collect, ScrapesWhileShardsWrite) {
  // Four shard threads increment a counter, a histogram and a bounded counter while a scraper
  // renders again and again. Every scrape must parse and never go backwards; the scrape after
  // the shards stop must equal the increments. Run under TSan too (see README.md).
  Catalog catalog;
  const auto events = catalog.add_counter({"outpost_events_total", "E.", {}}).value();
  const auto latency = catalog.add_histogram({"outpost_latency_seconds", "L.", {}}, {0.5}).value();
  const auto sent = catalog
                        .add_bounded_counter({"outpost_sent_total", "S.", {}},
                                             {.name = "destination", .values_max = 8})
                        .value();
  constexpr int shard_count = 4;
  constexpr int increments = 20000;
  std::vector<std::unique_ptr<Registry>> registries;
  std::vector<const Registry*> shards;
  for (int i = 0; i < shard_count; ++i) {
    registries.push_back(std::make_unique<Registry>(catalog));
    shards.push_back(registries.back().get());
  }
  std::atomic<int> running{shard_count};
  const auto shard = [&](Registry* registry, int seed) {
    Counter& counter = registry->counter(events);
    Histogram& histogram = registry->histogram(latency);
    BoundedCounter& bounded = registry->bounded_counter(sent);
    const std::string domains[] = {"a.example", "b.example", "c.example", "d.example",
                                   "e.example", "f.example", "g.example", "h.example",
                                   "i.example", "j.example", "k.example", "l.example"};
    for (int i = 0; i < increments; ++i) {
      counter.inc();
      histogram.observe((i + seed) % 2 == 0 ? 0.25 : 0.75);
      bounded.inc(domains[(i * 5 + seed) % std::size(domains)]);
    }
    running.fetch_sub(1);
  };
  const auto scraper = [&] {
    double last = 0;
    int scrapes = 0;
    while (running.load() > 0 || scrapes == 0) {
      const ParsedExposition parsed = parse_exposition_for_test(render(catalog, shards));
      EXPECT_EQ(parsed.error, "");
      const double now = parsed.value("outpost_events_total").value_or(0);  // absent until resolved
      EXPECT_GE(now, last);
      last = now;
      ++scrapes;
    }
    return scrapes;
  };
  // std::async, not std::thread: threads outside engine/ are for tests only.
  auto scrapes = std::async(std::launch::async, scraper);
  std::vector<std::future<void>> writers;
  for (int i = 0; i < shard_count; ++i) {
    writers.push_back(std::async(std::launch::async, shard, registries[i].get(), i));
  }
  for (auto& writer : writers) writer.get();
  EXPECT_GT(scrapes.get(), 0);

  const ParsedExposition parsed = parse_exposition_for_test(render(catalog, shards));
  ASSERT_EQ(parsed.error, "");
  constexpr double total = double(shard_count) * increments;
  EXPECT_EQ(parsed.value("outpost_events_total"), total);
  EXPECT_EQ(parsed.value("outpost_latency_seconds_count"), total);
  EXPECT_EQ(parsed.value("outpost_latency_seconds_bucket", {{"le", "0.5"}}), total / 2);
  EXPECT_EQ(parsed.value("outpost_latency_seconds_sum"), total / 2 * 0.25 + total / 2 * 0.75);
  double bounded_total = 0;
  int bounded_series = 0;
  for (const ParsedSample& sample : parsed.samples) {
    if (sample.name != "outpost_sent_total") continue;
    bounded_total += sample.value;
    ++bounded_series;
  }
  EXPECT_EQ(bounded_total, total);
  EXPECT_EQ(bounded_series, 9);  // 8 admitted domains + other
}

}  // namespace
}  // namespace mta::metrics
