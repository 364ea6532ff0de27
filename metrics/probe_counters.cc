#include "metrics/probe_counters.h"

#include "base/assert.h"

namespace mta::metrics {

CounterFamily declare_counter(Catalog& catalog, FamilySpec spec) {
  auto family = catalog.add_counter(std::move(spec));
  MTA_ASSERT(family.has_value());
  return *family;
}

GaugeFamily declare_gauge(Catalog& catalog, FamilySpec spec) {
  auto family = catalog.add_gauge(std::move(spec));
  MTA_ASSERT(family.has_value());
  return *family;
}

HistogramFamily declare_histogram(Catalog& catalog, FamilySpec spec, std::vector<double> buckets) {
  auto family = catalog.add_histogram(std::move(spec), std::move(buckets));
  MTA_ASSERT(family.has_value());
  return *family;
}

BoundedCounterFamily declare_bounded_counter(Catalog& catalog, FamilySpec spec,
                                             BoundedLabel bounded) {
  auto family = catalog.add_bounded_counter(std::move(spec), std::move(bounded));
  MTA_ASSERT(family.has_value());
  return *family;
}

void FollowedCounters::Shard::advance(std::size_t i, std::uint64_t value) {
  MTA_ASSERT(i < follows_.size());
  Follow& follow = follows_[i];
  if (value > follow.last) follow.counter->add(value - follow.last);
  follow.last = value;
}

void FollowedCounters::add(CounterFamily family, std::vector<std::string> label_values) {
  MTA_ASSERT(label_values.size() <= 3);
  series_.push_back({family, std::move(label_values)});
}

FollowedCounters::Shard FollowedCounters::bind(Registry& registry) const {
  Shard shard;
  shard.follows_.reserve(series_.size());
  for (const Series& series : series_) {
    const auto& l = series.label_values;
    Counter& counter = l.empty()       ? registry.counter(series.family)
                       : l.size() == 1 ? registry.counter(series.family, {l[0]})
                       : l.size() == 2 ? registry.counter(series.family, {l[0], l[1]})
                                       : registry.counter(series.family, {l[0], l[1], l[2]});
    shard.follows_.push_back({&counter});
  }
  return shard;
}

}  // namespace mta::metrics
