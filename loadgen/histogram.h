// LatencyHistogram: a fixed-size log-linear histogram of durations (nanoseconds), like
// HdrHistogram with two significant binary digits of headroom: recording is a few shifts and
// one increment, and any percentile is within 1/32 (about 3%) of the true value. One per
// shard; merged after the shards have stopped.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace mta::loadgen {

class LatencyHistogram {
 public:
  // Values below 64 ns have a bucket each; above, each power of two is split into 32 buckets.
  static constexpr std::size_t kLinearBuckets = 64;
  static constexpr std::size_t kSubBuckets = 32;
  static constexpr std::size_t kBucketCount = kLinearBuckets + 58 * kSubBuckets;

  void record(std::chrono::nanoseconds value);
  void merge(const LatencyHistogram& other);

  std::uint64_t count() const { return count_; }
  std::chrono::nanoseconds max() const { return std::chrono::nanoseconds(max_); }
  std::chrono::nanoseconds min() const;
  // Nearest rank: the smallest recorded value v (to bucket precision) such that at least
  // q * count() values are <= v. q in [0, 1]; 0 when empty. Never above max().
  std::chrono::nanoseconds percentile(double q) const;
  std::chrono::nanoseconds mean() const;

  // For tests: the bucket of a value and the largest value that bucket holds.
  static std::size_t bucket_for_test(std::uint64_t value) { return bucket_of(value); }
  static std::uint64_t bucket_high_for_test(std::size_t bucket) { return bucket_high(bucket); }

 private:
  static std::size_t bucket_of(std::uint64_t value);
  static std::uint64_t bucket_high(std::size_t bucket);

  std::array<std::uint64_t, kBucketCount> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  long double sum_ = 0;
};

}  // namespace mta::loadgen
