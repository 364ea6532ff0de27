#include "app/throughput.h"

namespace mta::app {
namespace {

// A total that went down (it never should) counts as nothing rather than wrapping around.
std::uint64_t since(std::uint64_t now, std::uint64_t before) {
  return now > before ? now - before : 0;
}

}  // namespace

std::int64_t Throughput::index_of(Clock::WallTime time) {
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
  const auto length = bucket_length.count();
  return seconds >= 0 ? seconds / length : (seconds - length + 1) / length;
}

void Throughput::add(Clock::WallTime now, const ThroughputCounts& totals) {
  if (!last_) {
    last_ = totals;
    return;
  }
  const std::int64_t index = index_of(now);
  const auto count = static_cast<std::int64_t>(bucket_count);
  Bucket& bucket = ring_[static_cast<std::size_t>(((index % count) + count) % count)];
  if (bucket.index != index) bucket = Bucket{.index = index};
  bucket.counts.received += since(totals.received, last_->received);
  bucket.counts.delivered += since(totals.delivered, last_->delivered);
  bucket.counts.deferred += since(totals.deferred, last_->deferred);
  bucket.counts.bounced += since(totals.bounced, last_->bounced);
  last_ = totals;
}

Throughput::Series Throughput::series(Clock::WallTime now) const {
  const std::int64_t last = index_of(now);
  const auto count = static_cast<std::int64_t>(bucket_count);
  const std::int64_t first = last - count + 1;
  Series out;
  out.start = Clock::WallTime(std::chrono::duration_cast<Clock::WallTime::duration>(
      std::chrono::seconds(first * bucket_length.count())));
  out.buckets.reserve(bucket_count);
  for (std::int64_t index = first; index <= last; ++index) {
    const Bucket& bucket = ring_[static_cast<std::size_t>(((index % count) + count) % count)];
    out.buckets.push_back(bucket.index == index ? bucket.counts : ThroughputCounts{});
  }
  return out;
}

}  // namespace mta::app
