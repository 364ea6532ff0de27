// Registry and its handles: resolving series on the owner shard, observing into histograms.
#include "metrics/registry.h"

#include <algorithm>

#include "base/assert.h"

namespace mta::metrics {

Histogram::Histogram(std::span<const double> bounds)
    : bounds_(bounds),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds.size() + 1)) {}

void Histogram::observe(double value) {
  // Prometheus buckets are "less than or equal": value goes in the first bucket whose bound is
  // >= value. NaN compares false with every bound and falls through to +Inf.
  std::size_t i = bounds_.size();
  if (value <= bounds_.back()) {
    i = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                                 bounds_.begin());
  }
  std::atomic<std::uint64_t>& bucket = buckets_[i];
  bucket.store(bucket.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  sum_.store(sum_.load(std::memory_order_relaxed) + value, std::memory_order_relaxed);
}

std::uint64_t Histogram::bucket(std::size_t i) const {
  MTA_ASSERT(i <= bounds_.size());
  return buckets_[i].load(std::memory_order_relaxed);
}

BoundedCounter::BoundedCounter(LabelAdmission& admission)
    : admission_(&admission),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(admission.values_max() + 1)) {}

std::uint64_t BoundedCounter::count(std::size_t index) const {
  MTA_ASSERT(index <= admission_->values_max());
  return counts_[index].load(std::memory_order_relaxed);
}

Registry::Registry(const Catalog& catalog) : catalog_(&catalog), families_(catalog.size()) {
  catalog.seal();
}

Registry::Series& Registry::find_or_add(std::uint32_t index,
                                        std::initializer_list<std::string_view> label_values) {
  MTA_ASSERT(index < families_.size());
  MTA_ASSERT(label_values.size() == catalog_->family(index).fixed_label_count());
  for (Series& series : families_[index]) {
    if (std::equal(series.label_values.begin(), series.label_values.end(), label_values.begin(),
                   label_values.end())) {
      return series;
    }
  }
  Series& series = families_[index].emplace_back();
  series.label_values.assign(label_values.begin(), label_values.end());
  return series;
}

Counter& Registry::counter(CounterFamily family,
                           std::initializer_list<std::string_view> label_values) {
  MTA_ASSERT(catalog_->family(family.index).type == Type::counter);
  MTA_ASSERT(!catalog_->family(family.index).bounded());
  std::lock_guard lock(series_mutex_);
  Series& series = find_or_add(family.index, label_values);
  if (series.counter == nullptr) series.counter = std::make_unique<Counter>();
  return *series.counter;
}

Gauge& Registry::gauge(GaugeFamily family, std::initializer_list<std::string_view> label_values) {
  MTA_ASSERT(catalog_->family(family.index).type == Type::gauge);
  std::lock_guard lock(series_mutex_);
  Series& series = find_or_add(family.index, label_values);
  MTA_ASSERT(!series.read);
  if (series.gauge == nullptr) series.gauge = std::make_unique<Gauge>();
  return *series.gauge;
}

Histogram& Registry::histogram(HistogramFamily family,
                               std::initializer_list<std::string_view> label_values) {
  MTA_ASSERT(catalog_->family(family.index).type == Type::histogram);
  std::lock_guard lock(series_mutex_);
  Series& series = find_or_add(family.index, label_values);
  if (series.histogram == nullptr) {
    series.histogram = std::make_unique<Histogram>(catalog_->family(family.index).bucket_bounds);
  }
  return *series.histogram;
}

BoundedCounter& Registry::bounded_counter(
    BoundedCounterFamily family, std::initializer_list<std::string_view> fixed_label_values) {
  const Family& declared = catalog_->family(family.index);
  MTA_ASSERT(declared.bounded());
  std::lock_guard lock(series_mutex_);
  Series& series = find_or_add(family.index, fixed_label_values);
  if (series.bounded == nullptr) {
    series.bounded = std::make_unique<BoundedCounter>(*declared.admission);
  }
  return *series.bounded;
}

void Registry::gauge_callback(GaugeFamily family,
                              std::initializer_list<std::string_view> label_values,
                              std::function<double()> read) {
  MTA_ASSERT(catalog_->family(family.index).type == Type::gauge);
  MTA_ASSERT(read != nullptr);
  std::lock_guard lock(series_mutex_);
  Series& series = find_or_add(family.index, label_values);
  MTA_ASSERT(series.gauge == nullptr);
  MTA_ASSERT(!series.read);
  series.read = std::move(read);
}

}  // namespace mta::metrics
