// Tests of MessageIdGenerator on a ManualClock: strictly increasing, unique across shards,
// the documented bit layout, counter overflow within one millisecond, clock steps backwards.
#include "queue/message_id.h"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <vector>

namespace mta::queue {
namespace {

using namespace std::chrono_literals;

ManualClock clock_at(std::chrono::milliseconds since_epoch) {
  return ManualClock(
      Clock::TimePoint{},
      Clock::WallTime(std::chrono::duration_cast<Clock::WallTime::duration>(since_epoch)));
}

constexpr std::chrono::milliseconds t0 = 1'700'000'000'000ms;

TEST(MessageIdGenerator, FieldsFollowTheLayout) {
  ManualClock clock = clock_at(t0);
  MessageIdGenerator gen(ShardId(5), clock);
  const MessageId first = gen.next();
  const MessageId second = gen.next();
  EXPECT_EQ(first.value(), (static_cast<std::uint64_t>(t0.count()) << 22) | (5U << 12) | 0U);
  EXPECT_EQ(message_id_time(first), clock.wall_now());
  EXPECT_EQ(message_id_shard(first), ShardId(5));
  EXPECT_EQ(message_id_counter(first), 0U);
  EXPECT_EQ(message_id_counter(second), 1U);
}

TEST(MessageIdGenerator, StrictlyIncreasingAndUniqueAcrossShards) {
  ManualClock clock = clock_at(t0);
  MessageIdGenerator a(ShardId(0), clock);
  MessageIdGenerator b(ShardId(1023), clock);
  std::set<MessageId> seen;
  MessageId last_a;
  MessageId last_b;
  // 10 000 ids per shard over a few milliseconds, with bursts beyond 4096 per millisecond.
  for (int i = 0; i < 10'000; ++i) {
    if (i % 3000 == 0) clock.advance(1ms);
    const MessageId id_a = a.next();
    const MessageId id_b = b.next();
    ASSERT_GT(id_a, last_a);
    ASSERT_GT(id_b, last_b);
    ASSERT_TRUE(seen.insert(id_a).second);
    ASSERT_TRUE(seen.insert(id_b).second);
    last_a = id_a;
    last_b = id_b;
  }
  EXPECT_EQ(seen.size(), 20'000U);
}

TEST(MessageIdGenerator, CounterOverflowBorrowsTheNextMillisecond) {
  ManualClock clock = clock_at(t0);
  MessageIdGenerator gen(ShardId(7), clock);
  std::vector<MessageId> ids;
  ids.reserve(4096 + 2);
  for (int i = 0; i < 4096 + 2; ++i) ids.push_back(gen.next());
  EXPECT_EQ(message_id_counter(ids[4095]), 4095U);
  EXPECT_EQ(message_id_time(ids[4095]), clock.wall_now());
  // The 4097th id moved into the next millisecond although the clock did not.
  EXPECT_EQ(message_id_counter(ids[4096]), 0U);
  EXPECT_EQ(message_id_time(ids[4096]), clock.wall_now() + 1ms);
  EXPECT_EQ(message_id_counter(ids[4097]), 1U);
  for (std::size_t i = 1; i < ids.size(); ++i) ASSERT_GT(ids[i], ids[i - 1]);
  // When the clock catches up with the borrowed millisecond, ids keep increasing.
  clock.advance(1ms);
  const MessageId caught_up = gen.next();
  EXPECT_GT(caught_up, ids.back());
  clock.advance(1ms);
  const MessageId later = gen.next();
  EXPECT_EQ(message_id_time(later), clock.wall_now());
  EXPECT_EQ(message_id_counter(later), 0U);
}

TEST(MessageIdGenerator, ClockSteppingBackKeepsIdsIncreasing) {
  ManualClock clock = clock_at(t0);
  MessageIdGenerator gen(ShardId(1), clock);
  const MessageId before = gen.next();
  clock.advance(-5s);
  const MessageId after = gen.next();
  EXPECT_GT(after, before);
  EXPECT_EQ(message_id_time(after), message_id_time(before));
}

TEST(MessageIdGenerator, AdvancePastRecoveredIdAfterRestart) {
  // The previous run issued ids up to `recovered` on shard 9; after a restart the clock is
  // a second behind. New ids on any shard must sort after it.
  ManualClock before_restart = clock_at(t0);
  MessageIdGenerator old_gen(ShardId(9), before_restart);
  MessageId recovered;
  for (int i = 0; i < 10; ++i) recovered = old_gen.next();

  ManualClock clock = clock_at(t0 - 1000ms);
  MessageIdGenerator gen(ShardId(2), clock);
  gen.advance_past(recovered);
  const MessageId first = gen.next();
  EXPECT_GT(first, recovered);
  EXPECT_EQ(message_id_shard(first), ShardId(2));
  EXPECT_GT(gen.next(), first);
  // An older id does not move the generator back.
  gen.advance_past(MessageId(1));
  EXPECT_GT(gen.next(), first);
}

TEST(MessageIdGenerator, ClockAtTheEpochStillWorks) {
  ManualClock clock;
  MessageIdGenerator gen(ShardId(3), clock);
  const MessageId a = gen.next();
  const MessageId b = gen.next();
  EXPECT_GT(b, a);
  EXPECT_EQ(message_id_shard(a), ShardId(3));
}

// first_message_id_at splits ids at a millisecond: every id of an earlier millisecond (any
// shard, any counter) is below it, every id of that millisecond or later is not.
TEST(FirstMessageIdAt, SplitsIdsAtAMillisecond) {
  ManualClock clock = clock_at(t0);
  MessageIdGenerator last_shard(ShardId(message_id_shards_max - 1), clock);
  for (int i = 0; i < 100; ++i) static_cast<void>(last_shard.next());
  const MessageId late_in_t0 = last_shard.next();
  clock.advance(1ms);
  MessageIdGenerator first_shard(ShardId(0), clock);
  const MessageId first_of_next = first_shard.next();

  const Clock::WallTime at_t0 = clock_at(t0).wall_now();
  struct Case {
    const char* name;
    Clock::WallTime time;
    std::uint64_t want;
  };
  const std::vector<Case> cases = {
      {"t0", at_t0, static_cast<std::uint64_t>(t0.count()) << 22},
      {"t0_plus_999us_rounds_down", at_t0 + 999us, static_cast<std::uint64_t>(t0.count()) << 22},
      {"t0_plus_1ms", at_t0 + 1ms, static_cast<std::uint64_t>(t0.count() + 1) << 22},
      {"epoch", Clock::WallTime{}, 0},
      {"before_1970", Clock::WallTime(-5s), 0},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(first_message_id_at(c.time).value(), c.want) << c.name;
  }
  EXPECT_LT(late_in_t0, first_message_id_at(at_t0 + 1ms));
  EXPECT_EQ(first_of_next, first_message_id_at(at_t0 + 1ms));
  EXPECT_GE(late_in_t0, first_message_id_at(at_t0));
  EXPECT_EQ(message_id_time(first_message_id_at(at_t0 + 1ms)), at_t0 + 1ms);
}

}  // namespace
}  // namespace mta::queue
