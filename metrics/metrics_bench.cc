// Benchmarks of the metrics hot path (counter, histogram, bounded-label increments) and of one
// scrape of a realistic daemon: 50 families, 2 shards, 100 destinations.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "metrics/exposition.h"
#include "metrics/process.h"
#include "metrics/registry.h"

namespace mta::metrics {
namespace {

void BM_CounterInc(benchmark::State& state) {
  Catalog catalog;
  const auto family = catalog.add_counter({"outpost_events_total", "E.", {}}).value();
  Registry registry(catalog);
  Counter& counter = registry.counter(family);
  for (auto _ : state) {
    counter.inc();
    benchmark::ClobberMemory();
  }
  benchmark::DoNotOptimize(counter.value());
}
BENCHMARK(BM_CounterInc);

void BM_HistogramObserve(benchmark::State& state) {
  Catalog catalog;
  const auto family =
      catalog
          .add_histogram({"outpost_latency_seconds", "L.", {}}, exponential_buckets(0.001, 2, 16))
          .value();
  Registry registry(catalog);
  Histogram& histogram = registry.histogram(family);
  double value = 0.0001;
  for (auto _ : state) {
    histogram.observe(value);
    value = value < 100 ? value * 1.7 : 0.0001;  // walk across the buckets
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_HistogramObserve);

std::vector<std::string> destinations(int count, std::string_view suffix) {
  std::vector<std::string> names;
  for (int i = 0; i < count; ++i) names.push_back("mx" + std::to_string(i) + std::string(suffix));
  return names;
}

// inc() of a value that has its own series (the common case: the big providers).
void BM_BoundedIncAdmitted(benchmark::State& state) {
  Catalog catalog;
  const auto family = catalog
                          .add_bounded_counter({"outpost_sent_total", "S.", {}},
                                               {.name = "destination", .values_max = 100})
                          .value();
  Registry registry(catalog);
  BoundedCounter& counter = registry.bounded_counter(family);
  const auto names = destinations(100, ".example.com");
  for (const auto& name : names) counter.inc(name);
  std::size_t i = 0;
  for (auto _ : state) {
    counter.inc(names[i]);
    i = (i + 1) % names.size();
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_BoundedIncAdmitted);

// inc() of a value the full table does not hold: counted under "other", no lock.
void BM_BoundedIncOverflow(benchmark::State& state) {
  Catalog catalog;
  const auto family = catalog
                          .add_bounded_counter({"outpost_sent_total", "S.", {}},
                                               {.name = "destination", .values_max = 100})
                          .value();
  Registry registry(catalog);
  BoundedCounter& counter = registry.bounded_counter(family);
  for (const auto& name : destinations(100, ".example.com")) counter.inc(name);
  const auto tail = destinations(1000, ".long-tail.example");
  std::size_t i = 0;
  for (auto _ : state) {
    counter.inc(tail[i]);
    i = (i + 1) % tail.size();
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_BoundedIncOverflow);

// The daemon's scrape: 50 families on 2 shards. 30 counters (10 of them with 3 listeners), 10
// gauges (half of them callbacks), 5 histograms of 16 buckets with 2 outcomes, and 5 bounded
// counters of 3 outcomes x 100 destinations.
void BM_Render(benchmark::State& state) {
  Catalog catalog;
  std::vector<CounterFamily> counters;
  std::vector<GaugeFamily> gauges;
  std::vector<HistogramFamily> histograms;
  std::vector<BoundedCounterFamily> bounded;
  for (int i = 0; i < 30; ++i) {
    const std::string name = "outpost_counter_" + std::to_string(i) + "_total";
    std::vector<std::string> labels;
    if (i < 10) labels = {"listener"};
    counters.push_back(catalog.add_counter({name, "A counter of things.", labels}).value());
  }
  for (int i = 0; i < 10; ++i) {
    gauges.push_back(
        catalog.add_gauge({"outpost_gauge_" + std::to_string(i), "A gauge of things.", {}})
            .value());
  }
  for (int i = 0; i < 5; ++i) {
    histograms.push_back(
        catalog
            .add_histogram(
                {"outpost_latency_" + std::to_string(i) + "_seconds", "Latency.", {"result"}},
                exponential_buckets(0.001, 2, 16))
            .value());
  }
  for (int i = 0; i < 5; ++i) {
    bounded.push_back(
        catalog
            .add_bounded_counter(
                {"outpost_bounded_" + std::to_string(i) + "_total", "Per destination.", {"result"}},
                {.name = "destination", .values_max = 100})
            .value());
  }
  Registry shard0(catalog), shard1(catalog);
  Registry* shards[] = {&shard0, &shard1};
  const auto names = destinations(100, ".example.com");
  for (Registry* shard : shards) {
    for (std::size_t i = 0; i < counters.size(); ++i) {
      if (i < 10) {
        for (const char* listener : {"smtp", "submission", "http"}) {
          shard->counter(counters[i], {listener}).add(1000 + i);
        }
      } else {
        shard->counter(counters[i]).add(123456 + i);
      }
    }
    for (std::size_t i = 0; i < gauges.size(); ++i) {
      if (i % 2 == 0) {
        shard->gauge(gauges[i]).set(0.5 * double(i));
      } else {
        shard->gauge_callback(gauges[i], {}, [] { return 17.0; });
      }
    }
    for (HistogramFamily family : histograms) {
      for (const char* result : {"delivered", "deferred"}) {
        Histogram& histogram = shard->histogram(family, {result});
        for (double v = 0.0005; v < 100; v *= 1.3) histogram.observe(v);
      }
    }
    for (BoundedCounterFamily family : bounded) {
      for (const char* result : {"delivered", "deferred", "bounced"}) {
        BoundedCounter& counter = shard->bounded_counter(family, {result});
        for (const auto& name : names) counter.add(name, 10);
        counter.inc("one-off.example");
      }
    }
  }
  const Registry* readers[] = {&shard0, &shard1};
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string body = render(catalog, readers);
    bytes = body.size();
    benchmark::DoNotOptimize(body);
  }
  state.counters["body_bytes"] = double(bytes);
}
BENCHMARK(BM_Render)->Unit(benchmark::kMicrosecond);

void BM_ProcessMetrics(benchmark::State& state) {
  for (auto _ : state) {
    std::string body;
    benchmark::DoNotOptimize(append_process_metrics(body).has_value());
  }
}
BENCHMARK(BM_ProcessMetrics)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace mta::metrics

BENCHMARK_MAIN();
