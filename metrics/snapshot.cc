// Snapshot: merging the shards' registries series by series into one sorted view.
#include "metrics/snapshot.h"

#include <algorithm>
#include <map>
#include <mutex>

#include "base/assert.h"

namespace mta::metrics {
namespace {

// One merged series while shards are being added up. Keys own their strings: a shard may
// resolve a new handle (moving its series list) as soon as its lock is released.
struct Merged {
  std::uint64_t count = 0;
  double value = 0;
  bool seen = false;
  std::vector<std::uint64_t> buckets;
  // Bounded families, keyed by their fixed labels only: counts by admission index, overflow
  // last. Merging by index spares building a key per destination per shard.
  std::vector<std::uint64_t> by_value;
};
using MergeMap = std::map<std::vector<std::string>, Merged>;

void merge_gauge(GaugeMerge merge, double value, Merged& into) {
  switch (merge) {
    case GaugeMerge::sum:
      into.value += value;
      break;
    case GaugeMerge::max:
      into.value = into.seen ? std::max(into.value, value) : value;
      break;
    case GaugeMerge::first:
      if (!into.seen) into.value = value;
      break;
  }
  into.seen = true;
}

// A bounded family's series: per fixed label set (already sorted), each value that counted
// something, sorted by value. Zero series are left out: "other" and most destinations count
// nothing for most outcomes.
void add_bounded_series(const LabelAdmission& admission, MergeMap& merged,
                        std::vector<SeriesSnapshot>& out) {
  const std::size_t values_max = admission.values_max();
  const std::size_t admitted = admission.size();
  std::vector<std::pair<std::string_view, std::uint64_t>> values;
  for (auto& [fixed, counts] : merged) {
    values.clear();
    for (std::size_t i = 0; i < admitted; ++i) {
      if (counts.by_value[i] != 0) values.emplace_back(admission.value(i), counts.by_value[i]);
    }
    if (counts.by_value[values_max] != 0) {
      values.emplace_back(admission.overflow_value(), counts.by_value[values_max]);
    }
    std::sort(values.begin(), values.end());
    for (const auto& [value, count] : values) {
      SeriesSnapshot& series = out.emplace_back();
      series.label_values.reserve(fixed.size() + 1);
      series.label_values = fixed;
      series.label_values.emplace_back(value);
      series.count = count;
    }
  }
}

}  // namespace

// The one reader of Registry's private series lists.
class ScrapeAccess {
 public:
  static void add_family(const Registry& shard, std::uint32_t index, const Family& family,
                         MergeMap& merged) {
    std::lock_guard lock(shard.series_mutex_);
    for (const Registry::Series& series : shard.families_[index]) {
      if (series.bounded != nullptr) {
        add_bounded(series, *series.bounded, merged);
        continue;
      }
      if (series.counter == nullptr && series.gauge == nullptr && series.histogram == nullptr &&
          !series.read) {
        continue;
      }
      Merged& into = merged[series.label_values];
      if (series.counter != nullptr) {
        into.count += series.counter->value();
      } else if (series.gauge != nullptr) {
        merge_gauge(family.merge, series.gauge->value(), into);
      } else if (series.read) {
        merge_gauge(family.merge, series.read(), into);
      } else {
        const Histogram& histogram = *series.histogram;
        into.buckets.resize(family.bucket_bounds.size() + 1);
        for (std::size_t i = 0; i < into.buckets.size(); ++i) {
          into.buckets[i] += histogram.bucket(i);
        }
        into.value += histogram.sum();
      }
    }
  }

 private:
  static void add_bounded(const Registry::Series& series, const BoundedCounter& counter,
                          MergeMap& merged) {
    const std::size_t values_max = counter.admission().values_max();
    std::vector<std::uint64_t>& into = merged[series.label_values].by_value;
    into.resize(values_max + 1);
    // Counts of values not yet admitted are zero, so reading every index is safe whatever
    // the admission table's size is at this moment.
    for (std::size_t i = 0; i <= values_max; ++i) into[i] += counter.count(i);
  }
};

std::vector<FamilySnapshot> collect(const Catalog& catalog,
                                    std::span<const Registry* const> shards) {
  std::vector<FamilySnapshot> snapshot;
  snapshot.reserve(catalog.size());
  for (std::uint32_t index = 0; index < catalog.size(); ++index) {
    const Family& family = catalog.family(index);
    MergeMap merged;
    for (const Registry* shard : shards) {
      MTA_ASSERT(&shard->catalog() == &catalog);
      ScrapeAccess::add_family(*shard, index, family, merged);
    }
    FamilySnapshot& out = snapshot.emplace_back();
    out.family = &family;
    out.series.reserve(merged.size());
    if (family.bounded()) {
      add_bounded_series(*family.admission, merged, out.series);
      continue;
    }
    for (auto& [labels, values] : merged) {
      SeriesSnapshot& series = out.series.emplace_back();
      series.label_values = labels;
      series.count = values.count;
      series.value = values.value;
      if (family.type == Type::histogram) {
        std::uint64_t running = 0;
        for (std::uint64_t& bucket : values.buckets) {
          running += bucket;
          bucket = running;
        }
        series.count = running;
        series.cumulative_buckets = std::move(values.buckets);
      }
    }
  }
  return snapshot;
}

}  // namespace mta::metrics
