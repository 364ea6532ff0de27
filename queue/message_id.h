// MessageIdGenerator: message ids that are unique across shards and restarts and sort by
// acceptance time, so the queue's key order is arrival order. One generator per shard.
#pragma once

#include <cstdint>

#include "base/clock.h"
#include "base/strong_id.h"

namespace mta::queue {

// Bit layout of a MessageId, most significant first:
//
//   63            22 21      12 11         0
//   +---------------+----------+-----------+
//   | unix ms (42)  | shard(10)| counter(12)|
//   +---------------+----------+-----------+
//
// 42 bits of milliseconds since the Unix epoch last until the year 2109; 10 bits of shard
// allow 1024 shards; 12 bits of counter give 4096 ids per shard per millisecond (4 million a
// second). When a shard needs more within one millisecond it borrows the next millisecond,
// and when the wall clock steps back it keeps counting from the last millisecond it used, so
// ids from one generator are strictly increasing. Ids of different shards never collide
// because the shard bits differ. Across a restart, uniqueness relies on the wall clock not
// stepping back past the last id issued; advance_past() with the highest recovered id closes
// that gap too.
inline constexpr int message_id_counter_bits = 12;
inline constexpr int message_id_shard_bits = 10;
inline constexpr int message_id_millis_bits = 42;
inline constexpr std::uint32_t message_id_shards_max = 1U << message_id_shard_bits;

// Not thread-safe: it belongs to one shard, like the Clock it reads.
class MessageIdGenerator {
 public:
  // shard.value() must be below message_id_shards_max (asserted).
  MessageIdGenerator(ShardId shard, Clock& clock);

  MessageId next();
  // Makes every later next() return an id greater than `id` (call with the highest id found
  // by the recovery scan).
  void advance_past(MessageId id);

 private:
  ShardId shard_;
  Clock& clock_;
  std::uint64_t last_millis_ = 0;
  std::uint32_t counter_ = 0;
  bool issued_ = false;
};

// The smallest id of `time`'s millisecond: every id below it was issued for an earlier
// millisecond, so Store::expire_history(first_message_id_at(now - keep)) keeps `keep` of
// history. Times before 1970 give id 0; times past 2109 the largest millisecond's first id.
MessageId first_message_id_at(Clock::WallTime time);

// The fields of an id, for logs and tests.
Clock::WallTime message_id_time(MessageId id);
ShardId message_id_shard(MessageId id);
std::uint32_t message_id_counter(MessageId id);

}  // namespace mta::queue
