// ProbeCounters: counter series that follow a module's probe, the plain integers its shard
// counts on the hot path. A module declares its families once on the Catalog (the declare_*
// helpers) and says which probe field each series follows; each shard binds the table to its
// Registry and, once a second, publishes its probe: every series grows by what its field grew
// since the last publish, so a counter only grows (a field that went down, after a restart of
// what it counts, adds nothing). The model is Redpanda's raft/probe.cc setup_metrics().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "metrics/catalog.h"
#include "metrics/registry.h"

namespace mta::metrics {

// Declare a family whose name, help and labels are fixed in code: a bad one is a bug (each
// module's test declares its families, so it cannot reach a release) and asserts.
CounterFamily declare_counter(Catalog& catalog, FamilySpec spec);
GaugeFamily declare_gauge(Catalog& catalog, FamilySpec spec);
HistogramFamily declare_histogram(Catalog& catalog, FamilySpec spec, std::vector<double> buckets);
BoundedCounterFamily declare_bounded_counter(Catalog& catalog, FamilySpec spec,
                                             BoundedLabel bounded);

// The untyped half of ProbeCounters: which series, and one shard's handles.
class FollowedCounters {
 public:
  // One shard's handles, in the order the series were added; used on that shard's thread.
  class Shard {
   public:
    // Series i now reads `value`: its counter grows by what it grew since the last call.
    void advance(std::size_t i, std::uint64_t value);

   private:
    friend class FollowedCounters;
    struct Follow {
      Counter* counter;
      std::uint64_t last = 0;
    };
    std::vector<Follow> follows_;
  };

  // label_values in the family's label order (at most three).
  void add(CounterFamily family, std::vector<std::string> label_values);
  std::size_t size() const { return series_.size(); }
  // Resolves every series on registry (each present at zero from now on).
  Shard bind(Registry& registry) const;

 private:
  struct Series {
    CounterFamily family;
    std::vector<std::string> label_values;
  };
  std::vector<Series> series_;
};

// Counts: the probe (or a struct of a module's probes) the series read.
template <class Counts>
class ProbeCounters {
 public:
  using Read = std::uint64_t (*)(const Counts&);
  using Shard = FollowedCounters::Shard;

  void follow(CounterFamily family, std::vector<std::string> label_values, Read read) {
    series_.add(family, std::move(label_values));
    reads_.push_back(read);
  }
  Shard bind(Registry& registry) const { return series_.bind(registry); }
  void publish(Shard& shard, const Counts& now) const {
    for (std::size_t i = 0; i < reads_.size(); ++i) shard.advance(i, reads_[i](now));
  }

 private:
  FollowedCounters series_;
  std::vector<Read> reads_;
};

}  // namespace mta::metrics
