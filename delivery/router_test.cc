// Router: the owner function alone, then the cross-shard moves on a real runtime of three
// shards, each with a stand-in for its ShardDelivery.
#include "delivery/router.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "engine/runtime.h"
#include "engine/test_support.h"
#include "queue/message_id.h"

namespace mta::delivery {
namespace {

using engine::testing::Signal;
using engine::testing::test_options;

queue::PartKey key_from_shard(std::uint32_t shard) {
  ManualClock clock;
  queue::MessageIdGenerator ids(ShardId(shard), clock);
  return {.message = ids.next(), .part = 0};
}

queue::ScheduledItem item(std::string destination, std::uint32_t accepted_on = 0,
                          std::uint32_t part = 0) {
  queue::ScheduledItem made;
  made.key = key_from_shard(accepted_on);
  made.key.part = part;
  made.destination = std::move(destination);
  return made;
}

TEST(OwnerOf, RelayPartsStayWithTheShardThatAcceptedThem) {
  for (std::uint32_t shard = 0; shard < 4; ++shard) {
    EXPECT_EQ(owner_of(relay_destination, key_from_shard(shard), 4), ShardId(shard));
  }
  // Fewer shards than when the message was accepted: modulo.
  EXPECT_EQ(owner_of(relay_destination, key_from_shard(5), 4), ShardId(1));
}

TEST(OwnerOf, ADomainHasOneOwnerWhoeverAcceptedIt) {
  std::set<std::uint32_t> seen;
  for (std::uint32_t accepted = 0; accepted < 8; ++accepted) {
    seen.insert(owner_of("example.com", key_from_shard(accepted), 8).value());
  }
  EXPECT_EQ(seen.size(), 1u);
  EXPECT_EQ(owner_of("example.com", {}, 1), ShardId(0));
}

TEST(OwnerOf, DomainsSpreadOverEveryShard) {
  std::set<std::uint32_t> owners;
  for (int i = 0; i < 200; ++i) {
    const ShardId owner = owner_of("d" + std::to_string(i) + ".example", {}, 4);
    ASSERT_LT(owner.value(), 4u);
    owners.insert(owner.value());
  }
  EXPECT_EQ(owners.size(), 4u);
}

// Records what reached it; used on its own shard's thread only.
class FakeTarget final : public RouteTarget {
 public:
  std::vector<std::string> added;     // destinations
  std::vector<std::string> received;  // pools
  std::set<std::string> holds;        // destinations whose parts apply() finds
  std::set<std::string> pool_holds;   // destinations whose parts apply_in_pools() finds
  std::map<std::string, bool> suspended;
  ShardId shard{0};

  void add(const queue::ScheduledItem& part) override { added.push_back(part.destination); }
  void receive(PoolHandoff&& handoff) override { received.push_back(handoff.pool); }
  std::vector<ActionResult> apply(OperatorAction,
                                  const std::vector<queue::ScheduledItem>& parts) override {
    return find(parts, holds);
  }
  std::vector<ActionResult> apply_in_pools(
      OperatorAction, const std::vector<queue::ScheduledItem>& parts) override {
    return find(parts, pool_holds);
  }
  void suspend(const std::string& destination, Clock::WallTime) override {
    suspended[destination] = true;
  }
  bool resume(const std::string& destination) override { return suspended.erase(destination); }

 private:
  static std::vector<ActionResult> find(const std::vector<queue::ScheduledItem>& parts,
                                        const std::set<std::string>& held) {
    std::vector<ActionResult> results;
    for (const auto& part : parts) {
      results.push_back(held.count(part.destination) ? ActionResult::applied
                                                     : ActionResult::not_found);
    }
    return results;
  }
};

constexpr std::uint32_t kShards = 3;

// A runtime of three shards, each attaching its FakeTarget; `on_zero` runs on shard 0 once
// every shard has attached.
class RouterTest : public ::testing::Test {
 protected:
  void run(bool pools, std::function<void(engine::Shard&, Router&)> on_zero) {
    on_zero_ = std::move(on_zero);
    router_ = std::make_unique<Router>(RouterOptions{.shard_count = kShards, .pools = pools});
    auto attached = std::make_shared<std::atomic<std::uint32_t>>(kShards);
    ASSERT_TRUE(runtime_
                    .start([&, attached](engine::Shard& shard) {
                      targets_[shard.id().value()].shard = shard.id();
                      router_->attach(shard.id(), targets_[shard.id().value()]);
                      if (attached->fetch_sub(1) != 1) return;
                      shard.post_until_taken(
                          ShardId(0), [this](engine::Shard& zero) { on_zero_(zero, *router_); });
                    })
                    .has_value());
  }
  void stop() {
    runtime_.request_stop();
    runtime_.wait();
  }

  engine::Runtime runtime_{test_options(kShards)};
  FakeTarget targets_[kShards];
  std::unique_ptr<Router> router_;
  std::function<void(engine::Shard&, Router&)> on_zero_;
  Signal done_;
};

TEST_F(RouterTest, HandOverReachesTheOwnerOfEachDestination) {
  const std::vector<queue::ScheduledItem> parts = {item("a.example"), item("b.example"),
                                                   item("c.example"), item("d.example"),
                                                   item(std::string(relay_destination), 2)};
  run(false, [&](engine::Shard& zero, Router& router) {
    for (const auto& part : parts) router.hand_over(zero, part);
    // After the hand-overs (same channels, in order), every shard reports back.
    router.invoke_on_all(
        zero, [](RouteTarget&) { return false; }, [&](bool) { done_.notify(); });
  });
  ASSERT_TRUE(done_.wait());
  stop();
  std::size_t total = 0;
  for (std::uint32_t shard = 0; shard < kShards; ++shard) {
    for (const auto& destination : targets_[shard].added) {
      const auto& part = *std::find_if(parts.begin(), parts.end(),
                                       [&](const auto& p) { return p.destination == destination; });
      EXPECT_EQ(owner_of(destination, part.key, kShards), ShardId(shard)) << destination;
      ++total;
    }
  }
  EXPECT_EQ(total, parts.size());
  EXPECT_EQ(targets_[2].added.back(), relay_destination);  // accepted on shard 2
}

TEST_F(RouterTest, HandOffReachesTheOwnerOfThePool) {
  run(false, [&](engine::Shard& zero, Router& router) {
    PoolHandoff handoff;
    handoff.pool = "mx.example.net";
    router.hand_off(zero, std::move(handoff));
    router.invoke_on_all(
        zero, [](RouteTarget&) { return false; }, [&](bool) { done_.notify(); });
  });
  ASSERT_TRUE(done_.wait());
  stop();
  const std::uint32_t owner = owner_of("mx.example.net", {}, kShards).value();
  for (std::uint32_t shard = 0; shard < kShards; ++shard) {
    EXPECT_EQ(targets_[shard].received.size(), shard == owner ? 1u : 0u);
  }
}

TEST_F(RouterTest, OperatorActionsAskOwnersThenPools) {
  // Three parts: one held by its owner, one at a pool on another shard, one nowhere.
  const queue::ScheduledItem held = item("held.example");
  const queue::ScheduledItem pooled = item("pooled.example");
  const queue::ScheduledItem gone = item("gone.example");
  targets_[owner_of(held.destination, held.key, kShards).value()].holds.insert(held.destination);
  targets_[(owner_of(pooled.destination, pooled.key, kShards).value() + 1) % kShards]
      .pool_holds.insert(pooled.destination);
  ActionCounts with_pools;
  ActionCounts without_pools;
  run(true, [&](engine::Shard& zero, Router& router) {
    router.apply_on_owners(zero, OperatorAction::retry, {held, pooled, gone},
                           [&](ActionCounts counts) {
                             with_pools = counts;
                             done_.notify();
                           });
  });
  ASSERT_TRUE(done_.wait());
  stop();
  EXPECT_EQ(with_pools.applied, 2u);
  EXPECT_EQ(with_pools.not_found, 1u);

  // Without pools (a relay), the second round is not asked.
  engine::Runtime second(test_options(kShards));
  Router relayed(RouterOptions{.shard_count = kShards, .pools = false});
  Signal finished;
  auto attached = std::make_shared<std::atomic<std::uint32_t>>(kShards);
  ASSERT_TRUE(second
                  .start([&, attached](engine::Shard& shard) {
                    relayed.attach(shard.id(), targets_[shard.id().value()]);
                    if (attached->fetch_sub(1) != 1) return;
                    shard.post_until_taken(ShardId(0), [&](engine::Shard& zero) {
                      relayed.apply_on_owners(zero, OperatorAction::retry, {held, pooled, gone},
                                              [&](ActionCounts counts) {
                                                without_pools = counts;
                                                finished.notify();
                                              });
                    });
                  })
                  .has_value());
  ASSERT_TRUE(finished.wait());
  second.request_stop();
  second.wait();
  EXPECT_EQ(without_pools.applied, 1u);
  EXPECT_EQ(without_pools.not_found, 2u);
}

TEST_F(RouterTest, SuspendReachesEveryShardAndResumeReportsIt) {
  bool suspended = false;
  bool resumed = false;
  bool resumed_again = true;
  run(false, [&](engine::Shard& zero, Router& router) {
    router.suspend(zero, "a.example", Clock::WallTime{}, [&, &from = zero](bool any) {
      suspended = any;
      router_->suspend(from, "a.example", std::nullopt, [&, &from2 = from](bool had) {
        resumed = had;
        router_->suspend(from2, "a.example", std::nullopt, [&](bool again) {
          resumed_again = again;
          done_.notify();
        });
      });
    });
  });
  ASSERT_TRUE(done_.wait());
  stop();
  EXPECT_TRUE(suspended);
  EXPECT_TRUE(resumed);
  EXPECT_FALSE(resumed_again);
}

}  // namespace
}  // namespace mta::delivery
