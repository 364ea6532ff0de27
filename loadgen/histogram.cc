// LatencyHistogram buckets: value v < 64 sits in bucket v. Above, let m be the index of v's
// highest set bit and s = m - 5: v >> s is in [32, 64), and the bucket is
// 64 + (s - 1) * 32 + ((v >> s) - 32). So each bucket spans 2^s values starting at a multiple
// of 2^s that is at least 32 * 2^s: the relative width is at most 1/32.
#include "loadgen/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "base/assert.h"

namespace mta::loadgen {

std::size_t LatencyHistogram::bucket_of(std::uint64_t value) {
  if (value < kLinearBuckets) return static_cast<std::size_t>(value);
  const int top = 63 - std::countl_zero(value);  // >= 6
  const int shift = top - 5;                     // >= 1
  const std::uint64_t sub = (value >> shift) - kSubBuckets;
  return kLinearBuckets + static_cast<std::size_t>(shift - 1) * kSubBuckets +
         static_cast<std::size_t>(sub);
}

std::uint64_t LatencyHistogram::bucket_high(std::size_t bucket) {
  MTA_ASSERT(bucket < kBucketCount);
  if (bucket < kLinearBuckets) return bucket;
  const std::size_t shift = (bucket - kLinearBuckets) / kSubBuckets + 1;
  const std::uint64_t sub = (bucket - kLinearBuckets) % kSubBuckets + kSubBuckets;
  const std::uint64_t low = sub << shift;
  return low + ((std::uint64_t{1} << shift) - 1);
}

void LatencyHistogram::record(std::chrono::nanoseconds value) {
  const std::uint64_t v = value.count() < 0 ? 0 : static_cast<std::uint64_t>(value.count());
  ++buckets_[bucket_of(v)];
  ++count_;
  max_ = std::max(max_, v);
  min_ = std::min(min_, v);
  sum_ += static_cast<long double>(v);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (std::size_t i = 0; i < kBucketCount; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
  min_ = std::min(min_, other.min_);
  sum_ += other.sum_;
}

std::chrono::nanoseconds LatencyHistogram::min() const {
  return std::chrono::nanoseconds(count_ == 0 ? 0 : min_);
}

std::chrono::nanoseconds LatencyHistogram::mean() const {
  if (count_ == 0) return std::chrono::nanoseconds(0);
  return std::chrono::nanoseconds(
      static_cast<std::int64_t>(sum_ / static_cast<long double>(count_)));
}

std::chrono::nanoseconds LatencyHistogram::percentile(double q) const {
  if (count_ == 0) return std::chrono::nanoseconds(0);
  q = std::clamp(q, 0.0, 1.0);
  const auto rank = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      const std::uint64_t high = std::min(bucket_high(i), max_);
      return std::chrono::nanoseconds(std::max(high, min_));
    }
  }
  return std::chrono::nanoseconds(max_);
}

}  // namespace mta::loadgen
