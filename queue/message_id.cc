// MessageIdGenerator: packs wall-clock milliseconds, shard and a per-shard counter into 64
// bits (layout in message_id.h), borrowing the next millisecond when the counter runs out.
#include "queue/message_id.h"

#include <algorithm>
#include <chrono>

#include "base/assert.h"

namespace mta::queue {
namespace {

constexpr std::uint32_t counter_max = (1U << message_id_counter_bits) - 1;
constexpr std::uint64_t millis_max = (std::uint64_t{1} << message_id_millis_bits) - 1;
constexpr int shard_shift = message_id_counter_bits;
constexpr int millis_shift = message_id_counter_bits + message_id_shard_bits;

std::uint64_t millis_of(Clock::WallTime time) {
  const auto since_epoch =
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch());
  // A clock before 1970 is misconfigured; ids still work if we treat it as the epoch.
  return since_epoch.count() < 0 ? 0 : static_cast<std::uint64_t>(since_epoch.count());
}

std::uint64_t wall_millis(const Clock& clock) { return millis_of(clock.wall_now()); }

}  // namespace

MessageIdGenerator::MessageIdGenerator(ShardId shard, Clock& clock) : shard_(shard), clock_(clock) {
  MTA_ASSERT(shard.value() < message_id_shards_max);
}

MessageId MessageIdGenerator::next() {
  const std::uint64_t now = wall_millis(clock_);
  if (!issued_ || now > last_millis_) {
    last_millis_ = now;
    counter_ = 0;
    issued_ = true;
  } else if (counter_ < counter_max) {
    ++counter_;  // same millisecond, or the clock stepped back: keep counting
  } else {
    ++last_millis_;  // counter exhausted: borrow the next millisecond
    counter_ = 0;
  }
  // Past 2109 the id space is exhausted; wrapping would break ordering and uniqueness.
  MTA_ASSERT(last_millis_ <= millis_max);
  return MessageId((last_millis_ << millis_shift) |
                   (static_cast<std::uint64_t>(shard_.value()) << shard_shift) | counter_);
}

void MessageIdGenerator::advance_past(MessageId id) {
  const std::uint64_t millis = id.value() >> millis_shift;
  // Ids issued later already start at last_millis_ or after, above any id of an earlier ms.
  if (issued_ && millis < last_millis_) return;
  // Resume after the whole millisecond of `id`: larger than it whatever its shard. This may
  // skip unused counters of that millisecond, which costs nothing.
  last_millis_ = millis;
  counter_ = counter_max;
  issued_ = true;
}

MessageId first_message_id_at(Clock::WallTime time) {
  return MessageId(std::min(millis_of(time), millis_max) << millis_shift);
}

Clock::WallTime message_id_time(MessageId id) {
  return Clock::WallTime(std::chrono::duration_cast<Clock::WallTime::duration>(
      std::chrono::milliseconds(id.value() >> millis_shift)));
}

ShardId message_id_shard(MessageId id) {
  return ShardId(
      static_cast<std::uint32_t>((id.value() >> shard_shift) & (message_id_shards_max - 1)));
}

std::uint32_t message_id_counter(MessageId id) {
  return static_cast<std::uint32_t>(id.value() & counter_max);
}

}  // namespace mta::queue
