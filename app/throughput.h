// The last hour of throughput, kept in the daemon so the console's chart survives a page
// reload: 360 buckets of 10 s, each the recipients received, delivered, deferred and bounced in
// it. Fed once a second with the node's totals since start; the difference from the previous
// totals goes into the bucket of that second. A ring: a bucket older than an hour is reused.
// Pure (no clock, no lock: app/status.h holds it under its mutex).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "base/clock.h"

namespace mta::app {

struct ThroughputCounts {
  std::uint64_t received = 0;
  std::uint64_t delivered = 0;
  std::uint64_t deferred = 0;
  std::uint64_t bounced = 0;
  friend bool operator==(const ThroughputCounts&, const ThroughputCounts&) = default;
};

class Throughput {
 public:
  static constexpr std::chrono::seconds bucket_length{10};
  static constexpr std::size_t bucket_count = 360;  // an hour

  // The node's totals since start at `now`. The first call only sets the baseline.
  void add(Clock::WallTime now, const ThroughputCounts& totals);

  struct Series {
    Clock::WallTime start{};                // the start of the first (oldest) bucket
    std::vector<ThroughputCounts> buckets;  // bucket_count, oldest first; the last is `now`'s
  };
  // The hour ending with the bucket of `now`; buckets with no data are zero.
  Series series(Clock::WallTime now) const;

 private:
  struct Bucket {
    std::int64_t index = -1;  // seconds since the epoch / bucket_length
    ThroughputCounts counts;
  };
  static std::int64_t index_of(Clock::WallTime time);

  std::array<Bucket, bucket_count> ring_{};
  std::optional<ThroughputCounts> last_;
};

}  // namespace mta::app
