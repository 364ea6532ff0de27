// LabelAdmission: decides which values of an unbounded label (a destination domain) get a series
// of their own, so a bounded-label family never exposes more than values_max + 1 series per
// combination of its fixed labels. One table per family, shared by every shard's registry.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace mta::metrics {

// Policy: the first values_max distinct values seen by any shard are admitted, each to a fixed
// index, for the life of the process. Every later value counts under the overflow value
// ("other"), and so do values that are empty, longer than value_bytes_max, not valid UTF-8, or
// equal to the overflow value itself.
//
// Why not the top N by volume, re-ranked at scrape time: moving a value out of its own series
// into "other" is harmless, but moving one back out of "other" makes "other" go down, which
// Prometheus reads as a counter reset and turns into a wrong rate(). A value's counts must stay
// in the series it started in, so admission is decided once. First-seen approximates top-N for
// mail: the big mailbox providers appear within seconds of start-up. A restart re-ranks.
//
// Threading: index_of() may be called from every shard at once. Lookups read an open-addressed
// table of atomic slots without a lock; the table is written only when a value is admitted (at
// most values_max times), under a mutex. Once the table is full a miss needs no lock either, so
// a long tail of one-off domains costs a hash and a probe, never contention. Readers never see a
// half-written value: the string is written before its slot is published with release order.
class LabelAdmission {
 public:
  static constexpr std::size_t value_bytes_max = 255;

  LabelAdmission(std::size_t values_max, std::string overflow_value);
  LabelAdmission(const LabelAdmission&) = delete;
  LabelAdmission& operator=(const LabelAdmission&) = delete;

  // The index of value's series: below values_max() if it has its own, values_max() for the
  // overflow series. Admits value if there is room. Thread-safe.
  std::uint32_t index_of(std::string_view value);

  std::size_t values_max() const { return values_max_; }
  std::string_view overflow_value() const { return overflow_value_; }
  // Values admitted so far; value(i) for i below it is stable for the table's lifetime.
  std::size_t size() const { return size_.load(std::memory_order_acquire); }
  std::string_view value(std::size_t index) const;

 private:
  // The admitted index of value, or values_max_ when it is not in the table.
  std::uint32_t find(std::string_view value, std::size_t hash) const;
  std::uint32_t admit(std::string_view value, std::size_t hash);

  std::size_t values_max_;
  std::string overflow_value_;
  std::unique_ptr<std::string[]> values_;                // values_max_ entries
  std::unique_ptr<std::atomic<std::uint32_t>[]> slots_;  // index + 1 of a value; 0 is empty
  std::size_t slot_mask_;                                // slot count (a power of two) - 1
  std::atomic<std::size_t> size_{0};
  std::mutex admit_mutex_;
};

}  // namespace mta::metrics
