// Registry: one shard's metric values, and the handles its hot path increments. Each shard thread
// owns one Registry built from the shared Catalog; handles are resolved once (at start-up, or
// when a listener or pool is created) and then updated with no lookup, lock or allocation. The
// scraper reads every shard's values from its own thread (snapshot.h) while the owners write.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/catalog.h"

namespace mta::metrics {

// Why relaxed load + store instead of fetch_add: every handle has exactly one writer, the shard
// thread that owns its Registry, so a read-modify-write (a locked instruction on x86) buys
// nothing; no other thread ever stores. The atomic type only makes the scraper's concurrent read
// tear-free and race-free; relaxed order is enough because a scrape needs no ordering between
// different values, only that each one is some value the writer stored. Each handle is aligned
// to a cache line so two shards' handles, allocated side by side at start-up, never share one.
//
// A handle must not be written by two threads. Anything shared between shards is either a
// callback gauge (Registry::gauge_callback) or one handle per shard, merged at scrape time.

class alignas(64) Counter {
 public:
  void inc() { add(1); }
  void add(std::uint64_t n) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class alignas(64) Gauge {
 public:
  void set(double value) { value_.store(value, std::memory_order_relaxed); }
  void add(double delta) { set(value() + delta); }
  void inc() { add(1); }
  void dec() { add(-1); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  static_assert(std::atomic<double>::is_always_lock_free);
  std::atomic<double> value_{0};
};

// Fixed buckets from the family's bounds. Bucket counts are stored per bucket, not cumulative,
// so observe() writes one of them; the scrape accumulates. _count is the sum of the buckets, so
// a scrape always sees _count equal to the +Inf bucket; _sum may lag them by the observation in
// flight, as in every Prometheus client.
class alignas(64) Histogram {
 public:
  explicit Histogram(std::span<const double> bounds);

  // value in the family's unit (seconds for a _seconds histogram). NaN lands in +Inf.
  void observe(double value);
  void observe(std::chrono::nanoseconds duration) {
    observe(std::chrono::duration<double>(duration).count());
  }

  std::span<const double> bounds() const { return bounds_; }
  // Observations in bucket i alone (not cumulative); i == bounds().size() is the +Inf bucket.
  std::uint64_t bucket(std::size_t i) const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::span<const double> bounds_;  // the catalog's, which outlives this
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<double> sum_{0};
};

// A counter of a bounded-label family for one combination of its fixed labels: inc("gmail.com")
// counts under destination="gmail.com" if that value is admitted, else under "other" (see
// LabelAdmission). The hot path hashes the value and probes the family's shared, read-mostly
// admission table; it takes a lock only while the table is still filling and the value is new.
class alignas(64) BoundedCounter {
 public:
  explicit BoundedCounter(LabelAdmission& admission);

  void inc(std::string_view value) { add(value, 1); }
  void add(std::string_view value, std::uint64_t n) {
    std::atomic<std::uint64_t>& count = counts_[admission_->index_of(value)];
    count.store(count.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

  // Count of the admitted value at index (LabelAdmission::value(index)), or of the overflow
  // series for index == admission().values_max().
  std::uint64_t count(std::size_t index) const;
  const LabelAdmission& admission() const { return *admission_; }

 private:
  LabelAdmission* admission_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // values_max + 1
};

// Lifecycle: built on the main thread from a Catalog (which it seals) before the shards start,
// then owned by one shard. Resolving handles is for its owner thread; the scraper may read at
// the same time (a mutex guards the list of series, never their values). Handles live as long
// as the Registry; it must outlive any scrape that reads it.
class Registry {
 public:
  explicit Registry(const Catalog& catalog);
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The series of family with these label values (in the family's label order), created at
  // zero on first use; the same values give the same handle. A wrong number of label values is
  // a bug and asserts.
  Counter& counter(CounterFamily family, std::initializer_list<std::string_view> label_values = {});
  Gauge& gauge(GaugeFamily family, std::initializer_list<std::string_view> label_values = {});
  Histogram& histogram(HistogramFamily family,
                       std::initializer_list<std::string_view> label_values = {});
  // fixed_label_values: all labels but the bounded one.
  BoundedCounter& bounded_counter(BoundedCounterFamily family,
                                  std::initializer_list<std::string_view> fixed_label_values = {});

  // A gauge series computed at scrape time (queue depth, open connections). read runs on the
  // scraping thread while this registry's series list is locked: it must be thread-safe (read
  // atomics or thread-safe objects), quick, and must not resolve handles on this registry.
  // Registering the same labels twice, or labels that already have a Gauge handle, asserts.
  void gauge_callback(GaugeFamily family, std::initializer_list<std::string_view> label_values,
                      std::function<double()> read);

  const Catalog& catalog() const { return *catalog_; }

 private:
  friend class ScrapeAccess;  // snapshot.cc: reads the series lists under series_mutex_

  // One series of this shard. Exactly one of the pointers (or read) is set, by family type.
  struct Series {
    std::vector<std::string> label_values;  // fixed labels only, for bounded families
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
    std::unique_ptr<BoundedCounter> bounded;
    std::function<double()> read;
  };

  // The series of family index with label_values, appended empty if absent. The caller holds
  // series_mutex_ and creates the metric before releasing it; the scraper skips empty series.
  Series& find_or_add(std::uint32_t index, std::initializer_list<std::string_view> label_values);

  const Catalog* catalog_;
  mutable std::mutex series_mutex_;
  std::vector<std::vector<Series>> families_;  // by family index
};

}  // namespace mta::metrics
