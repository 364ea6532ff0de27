// Catalog: the metric families Outpost exposes, declared once at start-up before any shard runs:
// name, help, type, label names, histogram buckets, how shards merge. Names are checked against
// the Prometheus data model and our conventions here, so a scrape can never render a bad name.
// Values live in per-shard Registry objects (registry.h); rendering is exposition.h.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "metrics/label_admission.h"

namespace mta::metrics {

enum class Type { counter, gauge, histogram };

// How a scrape combines one gauge series reported by several shards.
enum class GaugeMerge {
  sum,    // per-shard parts of a whole: open connections, queued messages
  max,    // the worst shard: oldest message age, event-loop lag
  first,  // one value every shard reports alike, or only one shard sets: the lowest shard wins
};

// Typed family handles, so a counter family cannot be resolved as a gauge. index is the
// family's position in the catalog.
struct CounterFamily {
  std::uint32_t index;
};
struct GaugeFamily {
  std::uint32_t index;
};
struct HistogramFamily {
  std::uint32_t index;
};
struct BoundedCounterFamily {
  std::uint32_t index;
};

struct FamilySpec {
  std::string name;  // e.g. "outpost_messages_injected_total"
  std::string help;  // one line for # HELP; required
  std::vector<std::string> label_names;
};

// The unbounded label of a bounded counter family (see LabelAdmission for the policy).
struct BoundedLabel {
  std::string name;  // e.g. "destination"; rendered after the family's fixed labels
  std::size_t values_max = 100;
  std::string overflow_value = "other";
};

// One declared family. Immutable once declared, except for the admission table of a bounded
// family, which is thread-safe on its own.
struct Family {
  std::string name;
  std::string help;
  Type type = Type::counter;
  // Every label in rendering order; for a bounded family the bounded label is the last one.
  std::vector<std::string> label_names;
  GaugeMerge merge = GaugeMerge::sum;  // gauges only
  std::vector<double> bucket_bounds;   // histograms only: finite, strictly increasing; +Inf implied
  std::unique_ptr<LabelAdmission> admission;  // bounded counters only

  bool bounded() const { return admission != nullptr; }
  // Labels a handle is resolved with: all of them, minus the bounded one.
  std::size_t fixed_label_count() const { return label_names.size() - (bounded() ? 1 : 0); }
};

// Lifecycle: built and filled on the main thread; constructing the first Registry from it seals
// it (declaring a family after that is a bug and asserts). It must outlive every Registry and
// every scrape. After sealing, any thread may read it.
class Catalog {
 public:
  Catalog() = default;
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  // Each fails with invalid_name, invalid_label, duplicate_family, invalid_buckets or
  // invalid_bound; the detail names the metric.
  Result<CounterFamily> add_counter(FamilySpec spec);
  Result<GaugeFamily> add_gauge(FamilySpec spec, GaugeMerge merge = GaugeMerge::sum);
  Result<HistogramFamily> add_histogram(FamilySpec spec, std::vector<double> bucket_bounds);
  Result<BoundedCounterFamily> add_bounded_counter(FamilySpec spec, BoundedLabel bounded);

  std::size_t size() const { return families_.size(); }
  const Family& family(std::size_t index) const;
  // nullptr if no family has that name.
  const Family* find(std::string_view name) const;

  // Called by Registry's constructor.
  void seal() const { sealed_.store(true, std::memory_order_relaxed); }

 private:
  Result<std::uint32_t> add(FamilySpec spec, Type type);

  // unique_ptr: a Family owns a mutex (in its LabelAdmission) and must not move.
  std::vector<std::unique_ptr<Family>> families_;
  mutable std::atomic<bool> sealed_{false};
};

// Prometheus metric name grammar, [a-zA-Z_:][a-zA-Z0-9_:]*, and ours on top of it: lowercase
// snake_case; counters end in _total and nothing else does; histograms do not end in _bucket,
// _sum or _count (their series do); base units only (_seconds, _bytes, not _milliseconds or
// _kilobytes); the process_ prefix belongs to append_process_metrics.
Result<void> check_metric_name(std::string_view name, Type type);
// [a-zA-Z_][a-zA-Z0-9_]*, not starting with __ (reserved by Prometheus).
Result<void> check_label_name(std::string_view name);

// count bounds: start, start * factor, start * factor^2, ...
std::vector<double> exponential_buckets(double start, double factor, std::size_t count);
// count bounds: start, start + width, start + 2 * width, ...
std::vector<double> linear_buckets(double start, double width, std::size_t count);

}  // namespace mta::metrics
