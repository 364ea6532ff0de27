// Tests of the ready queue's policy: transactional before bulk (bulk never starved), tenants
// in turn within a class, capped tenants skipped but kept first, operator retries and removal.
#include "delivery/ready_queue.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "delivery/tenants.h"

namespace mta::delivery {
namespace {

using queue::TrafficClass;

ReadyPart part(std::uint64_t id, TenantIndex tenant, TrafficClass c = TrafficClass::transactional) {
  return ReadyPart{
      .key = {.message = MessageId(id), .part = 0}, .tenant = tenant, .traffic_class = c};
}

std::vector<std::uint64_t> drain(ReadyQueue& queue, const EligibleFn& eligible = {}) {
  std::vector<std::uint64_t> ids;
  while (auto next = queue.pop(eligible)) ids.push_back(next->key.message.value());
  return ids;
}

TEST(ReadyQueue, EmptyPopsNothing) {
  ReadyQueue queue;
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.pop(), std::nullopt);
  EXPECT_TRUE(queue.take_all().empty());
}

TEST(ReadyQueue, OneTenantIsFifo) {
  ReadyQueue queue;
  for (std::uint64_t id = 1; id <= 5; ++id) queue.push(part(id, 2));
  EXPECT_EQ(queue.size(), 5U);
  EXPECT_EQ(drain(queue), (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_TRUE(queue.empty());
}

// front() names what pop() gives next, without taking it (what a new connection is opened
// for, which the crash-loop breaker marks).
TEST(ReadyQueue, FrontIsWhatPopGivesNext) {
  ReadyQueue queue;
  EXPECT_EQ(queue.front(), std::nullopt);
  queue.push(part(7, 1, TrafficClass::bulk));
  queue.push(part(8, 2));
  queue.push(part(9, 2));
  while (!queue.empty()) {
    const auto front = queue.front();
    ASSERT_TRUE(front.has_value());
    EXPECT_EQ(queue.pop()->key, *front);
  }
}

// Tenant A's backlog came first; B's parts get every other turn, not the end of the line.
TEST(ReadyQueue, TenantsTakeTurns) {
  ReadyQueue queue;
  for (std::uint64_t id = 100; id < 110; ++id) queue.push(part(id, 2));
  queue.push(part(1, 3));
  queue.push(part(2, 3));
  queue.push(part(50, 0));  // untagged mail is a tenant of its own
  EXPECT_EQ(drain(queue), (std::vector<std::uint64_t>{100, 1, 50, 101, 2, 102, 103, 104, 105, 106,
                                                      107, 108, 109}));
}

TEST(ReadyQueue, ANewTenantWaitsAtMostOneTurnOfEachOther) {
  ReadyQueue queue;
  for (std::uint64_t id = 1000; id < 101'000; ++id) queue.push(part(id, 2));
  for (int i = 0; i < 3; ++i) (void)queue.pop();
  queue.push(part(7, 3));
  EXPECT_EQ(queue.pop()->key.message.value(), 1003U);  // A's turn had come
  EXPECT_EQ(queue.pop()->key.message.value(), 7U);     // then B's
}

TEST(ReadyQueue, TransactionalGoesFirstButBulkIsNotStarved) {
  ReadyQueue queue(/*transactional_burst=*/3);
  for (std::uint64_t id = 100; id < 104; ++id) queue.push(part(id, 2, TrafficClass::bulk));
  for (std::uint64_t id = 1; id <= 7; ++id) queue.push(part(id, 3));
  // Three transactional, one bulk, three transactional, one bulk, the last transactional,
  // then the rest of bulk.
  EXPECT_EQ(drain(queue), (std::vector<std::uint64_t>{1, 2, 3, 100, 4, 5, 6, 101, 7, 102, 103}));
}

TEST(ReadyQueue, BulkAloneFlowsAndTransactionalTakesOverAtOnce) {
  ReadyQueue queue(3);
  for (std::uint64_t id = 100; id < 105; ++id) queue.push(part(id, 2, TrafficClass::bulk));
  EXPECT_EQ(queue.pop()->key.message.value(), 100U);
  EXPECT_EQ(queue.pop()->key.message.value(), 101U);
  queue.push(part(1, 3));
  EXPECT_EQ(queue.pop()->key.message.value(), 1U);  // no bulk turn owed: it came at once
  EXPECT_EQ(drain(queue), (std::vector<std::uint64_t>{102, 103, 104}));
}

TEST(ReadyQueue, CappedTenantWaitsAndKeepsItsPlace) {
  ReadyQueue queue;
  queue.push(part(1, 2));
  queue.push(part(2, 2));
  queue.push(part(10, 3));
  queue.push(part(11, 3));
  queue.push(part(20, 4, TrafficClass::bulk));
  std::set<TenantIndex> capped = {2};
  const auto eligible = [&capped](TenantIndex t, PoolIndex) { return capped.count(t) == 0; };
  EXPECT_EQ(queue.pop(eligible)->key.message.value(), 10U);
  EXPECT_EQ(queue.pop(eligible)->key.message.value(), 11U);
  // Capped transactional does not hold back eligible bulk.
  EXPECT_EQ(queue.pop(eligible)->key.message.value(), 20U);
  EXPECT_EQ(queue.pop(eligible), std::nullopt);  // only the capped tenant is left
  EXPECT_EQ(queue.size(), 2U);
  std::vector<TenantIndex> waiting;
  queue.for_each_flow([&](TenantIndex t, PoolIndex) { waiting.push_back(t); });
  EXPECT_EQ(waiting, std::vector<TenantIndex>{2});
  capped.clear();
  EXPECT_EQ(drain(queue, eligible), (std::vector<std::uint64_t>{1, 2}));
}

TEST(ReadyQueue, RetryGoesFirstAndRemoveFindsAnyPart) {
  ReadyQueue queue;
  queue.push(part(1, 2));
  queue.push(part(2, 3));
  queue.push(part(3, 3, TrafficClass::bulk));
  EXPECT_EQ(queue.remove(part(9, 2).key), std::nullopt);
  EXPECT_EQ(queue.remove(part(3, 0).key), part(3, 3, TrafficClass::bulk));
  EXPECT_EQ(queue.remove(part(1, 0).key), part(1, 2));
  EXPECT_EQ(queue.size(), 1U);
  queue.push(part(4, 2));
  queue.push_front(part(5, 2));
  EXPECT_EQ(queue.take_all(), (std::vector<ReadyPart>{part(5, 2), part(2, 3), part(4, 2)}));
  EXPECT_TRUE(queue.empty());
}

// A connection of pool 1 takes pool 1's parts and those that name no pool; pool 2's wait for
// a connection of theirs, in their order, and each (tenant, pool) flow takes its own turn.
TEST(ReadyQueue, PoolsWaitForTheirOwnConnection) {
  ReadyQueue queue;
  const auto with_pool = [](std::uint64_t id, TenantIndex tenant, PoolIndex pool) {
    ReadyPart p = part(id, tenant);
    p.pool = pool;
    return p;
  };
  queue.push(with_pool(1, 2, 2));
  queue.push(with_pool(2, 2, 1));
  queue.push(with_pool(3, 3, 0));
  queue.push(with_pool(4, 2, 2));
  const auto on_pool = [](PoolIndex mine) {
    return [mine](TenantIndex, PoolIndex pool) { return pool == 0 || pool == mine; };
  };
  EXPECT_TRUE(queue.any(on_pool(1)));
  EXPECT_EQ(drain(queue, on_pool(1)), (std::vector<std::uint64_t>{2, 3}));
  EXPECT_FALSE(queue.any(on_pool(1)));
  EXPECT_TRUE(queue.any(on_pool(2)));
  std::vector<PoolIndex> pools;
  queue.for_each_flow([&](TenantIndex, PoolIndex pool) { pools.push_back(pool); });
  EXPECT_EQ(pools, std::vector<PoolIndex>{2});
  EXPECT_EQ(queue.remove(with_pool(4, 0, 0).key), with_pool(4, 2, 2));
  EXPECT_EQ(queue.take_all(), std::vector<ReadyPart>{with_pool(1, 2, 2)});
}

// The rate caps hold a tenant to the node's cap, shared by the shards, and let uncapped tenants
// through.
TEST(Tenants, InternsNamesAndCapsConfiguredTenants) {
  std::vector<TenantLimits> limits{
      {.name = "capped", .messages_per_second = 2, .messages_per_hour = 0}};
  make_shared_rates(limits);
  Tenants tenants;
  Tenants other_shard;
  const Clock::TimePoint t0{};
  tenants.configure(limits);
  other_shard.configure(limits);
  const TenantIndex capped = tenants.intern("capped");
  const TenantIndex free = tenants.intern("free");
  EXPECT_EQ(tenants.intern(""), 0U);
  EXPECT_EQ(tenants.intern("capped"), capped);
  EXPECT_NE(capped, free);
  EXPECT_EQ(tenants.name(free), "free");
  // 2/s for the node: one here and one on the other shard at once, then one every half second
  // wherever it goes.
  ASSERT_TRUE(tenants.may_send(capped, t0));
  tenants.sent(capped, t0);
  const TenantIndex there = other_shard.intern("capped");
  ASSERT_TRUE(other_shard.may_send(there, t0));
  other_shard.sent(there, t0);
  EXPECT_FALSE(tenants.may_send(capped, t0));
  EXPECT_FALSE(other_shard.may_send(there, t0));
  EXPECT_EQ(tenants.next_at(capped, t0), t0 + std::chrono::milliseconds(500));
  EXPECT_TRUE(tenants.may_send(capped, t0 + std::chrono::milliseconds(500)));
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(tenants.may_send(free, t0));
    tenants.sent(free, t0);
  }
  const auto tag = Tenants::tag(capped, TrafficClass::bulk);
  EXPECT_EQ(Tenants::from_tag(part(1, 0).key, tag), part(1, capped, TrafficClass::bulk));
  tenants.configure_pools({"default", "mkt", "default"});
  EXPECT_EQ(tenants.pool_index(""), 0U);
  EXPECT_EQ(tenants.pool_index("default"), 1U);
  EXPECT_EQ(tenants.pool_index("mkt"), 2U);
  EXPECT_EQ(tenants.pool_index("gone"), 0U);  // a pool no longer configured: any source
  EXPECT_EQ(tenants.pool_name(2), "mkt");
  ReadyPart want = part(1, free, TrafficClass::transactional);
  want.pool = 2;
  EXPECT_EQ(Tenants::from_tag(want.key, tenants.tag_of("free", TrafficClass::transactional, "mkt")),
            want);
}

TEST(Tenants, NamesBeyondTheBoundShareOneIndex) {
  Tenants tenants;
  for (std::size_t i = 0; i < Tenants::names_max + 10; ++i) {
    (void)tenants.intern("t" + std::to_string(i));
  }
  EXPECT_EQ(tenants.intern("one-more"), Tenants::overflow);
  EXPECT_EQ(tenants.intern("t5"), 2U + 5U);
}

}  // namespace
}  // namespace mta::delivery
