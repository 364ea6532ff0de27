// Shaping: which rules apply, the smallest limit, shard shares, and token buckets over time.
#include "delivery/shaping.h"

#include <gtest/gtest.h>

#include <future>
#include <vector>

namespace mta::delivery {
namespace {

using namespace std::chrono_literals;

const Limits defaults{.connections_max = 8, .messages_per_connection_max = 1000};

TEST(Shaping, DomainRulesMatchExactlyAndSuffixRulesOnLabels) {
  const Shaping shaping({
      {.domain = "example.com", .limits = {.connections_max = 2}},
      {.mx_suffix = ".outlook.com", .limits = {.messages_per_connection_max = 20}},
      {.mx_suffix = "google.com", .limits = {.messages_per_second = 5}},
  });
  EXPECT_EQ(shaping.limits_for(defaults, "example.com", {}).connections_max, 2u);
  EXPECT_EQ(shaping.limits_for(defaults, "EXAMPLE.com", {}).connections_max, 2u);
  EXPECT_EQ(shaping.limits_for(defaults, "sub.example.com", {}).connections_max, 8u);
  const std::vector<std::string> outlook = {"x-com.mail.protection.outlook.com."};
  EXPECT_EQ(shaping.limits_for(defaults, "", outlook).messages_per_connection_max, 20u);
  EXPECT_EQ(shaping.limits_for(defaults, "", {"outlook.com"}).messages_per_connection_max, 1000u);
  // A suffix without a leading dot matches on a label boundary, and the name itself.
  EXPECT_EQ(shaping.limits_for(defaults, "", {"aspmx.l.google.com"}).messages_per_second, 5);
  EXPECT_EQ(shaping.limits_for(defaults, "", {"google.com"}).messages_per_second, 5);
  EXPECT_EQ(shaping.limits_for(defaults, "", {"notgoogle.com"}).messages_per_second, 0);
}

TEST(Shaping, TheSmallestLimitThatAppliesWins) {
  const Shaping shaping({
      {.domain = "example.com", .limits = {.connections_max = 3, .messages_per_second = 10}},
      {.mx_suffix = ".mx.test",
       .limits = {.connections_max = 5, .messages_per_second = 4, .messages_per_hour = 100}},
  });
  const Limits both = shaping.limits_for(defaults, "example.com", {"a.mx.test"});
  EXPECT_EQ(both.connections_max, 3u);
  EXPECT_EQ(both.messages_per_second, 4);
  EXPECT_EQ(both.messages_per_hour, 100);
  EXPECT_EQ(both.messages_per_connection_max, 1000u);  // from the defaults
  EXPECT_EQ(shaping.limits_for(defaults, "other.test", {}), defaults);
}

TEST(Shaping, PerShardSharesKeepTheNodeTotal) {
  const Limits node{.connections_max = 5, .messages_per_second = 10, .connections_per_minute = 3};
  const Limits share = node.per_shard(2);
  EXPECT_EQ(share.connections_max, 3u);  // rounded up: each shard can still connect
  EXPECT_EQ(share.messages_per_second, 5);
  EXPECT_EQ(share.connections_per_minute, 1.5);
  EXPECT_EQ(Limits{.connections_max = 1}.per_shard(4).connections_max, 1u);
  EXPECT_EQ(Limits{}.per_shard(4).connections_max, Limits::unlimited);
  EXPECT_EQ(node.per_shard(1), node);
}

TEST(Shaping, AFleetShareHasTheGrantAndItsPartOfEachRate) {
  const Limits node{.connections_max = 5,
                    .messages_per_connection_max = 100,
                    .messages_per_second = 10,
                    .messages_per_day = 1000};
  const Limits share = node.fleet_share(2, 4);
  EXPECT_EQ(share.connections_max, 2u);
  EXPECT_EQ(share.messages_per_connection_max, 100u);  // per connection: not shared
  EXPECT_EQ(share.messages_per_second, 2.5);
  EXPECT_EQ(share.messages_per_day, 250);
  EXPECT_EQ(share.messages_per_hour, 0);                  // no limit stays none
  EXPECT_EQ(node.fleet_share(9, 1).connections_max, 5u);  // never over the limit
  EXPECT_EQ(node.fleet_share(0, 1).connections_max, 0u);  // nothing granted: no connection
}

TEST(SharedRate, AFullPeriodAtOnceThenTheRateAcrossThreads) {
  using std::chrono::milliseconds;
  SharedRate rate(10, std::chrono::seconds(1));
  const Clock::TimePoint t0{std::chrono::hours(1)};
  std::vector<std::future<int>> shards;
  for (int s = 0; s < 4; ++s) {
    shards.push_back(std::async(std::launch::async, [&] {
      int taken = 0;
      for (int i = 0; i < 100; ++i) taken += rate.take(t0) ? 1 : 0;
      return taken;
    }));
  }
  int total = 0;
  for (auto& shard : shards) total += shard.get();
  EXPECT_EQ(total, 10);  // the burst, whoever takes it
  EXPECT_EQ(rate.next_at(t0), t0 + milliseconds(100));
  EXPECT_FALSE(rate.take(t0 + milliseconds(99)));
  EXPECT_TRUE(rate.take(t0 + milliseconds(100)));
  EXPECT_EQ(rate.next_at(t0 + std::chrono::seconds(5)), t0 + std::chrono::seconds(5));
}

TEST(TokenBucket, AFullPeriodAtOnceThenTheRate) {
  const Clock::TimePoint t0{};
  TokenBucket bucket(4, 1s, t0);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(bucket.take(t0)) << i;
  EXPECT_FALSE(bucket.take(t0));
  EXPECT_EQ(bucket.next_at(t0), t0 + 250ms);
  EXPECT_FALSE(bucket.take(t0 + 249ms));
  EXPECT_TRUE(bucket.take(t0 + 250ms));
  // Idle for a long time: never more than a period's worth.
  int taken = 0;
  while (bucket.take(t0 + 1h)) ++taken;
  EXPECT_EQ(taken, 4);
}

TEST(TokenBucket, LessThanOnePerPeriodStillAllowsOne) {
  const Clock::TimePoint t0{};
  TokenBucket bucket(0.5, 1h, t0);  // one every two hours
  EXPECT_TRUE(bucket.take(t0));
  EXPECT_FALSE(bucket.take(t0 + 1h));
  EXPECT_TRUE(bucket.take(t0 + 2h));
}

TEST(RateGate, EveryBucketMustAllowAndNoneIsSpentOnARefusal) {
  const Clock::TimePoint t0{};
  RateGate gate({.messages_per_second = 100, .messages_per_hour = 2}, t0);
  EXPECT_TRUE(gate.take_message(t0));
  EXPECT_TRUE(gate.take_message(t0));
  EXPECT_FALSE(gate.take_message(t0));  // the hour is spent; the second's bucket still has 98
  EXPECT_EQ(gate.message_at(t0), t0 + 30min);
  EXPECT_TRUE(gate.take_connection(t0));  // no connection limit
  RateGate unlimited;
  EXPECT_TRUE(unlimited.take_message(t0));
  EXPECT_EQ(unlimited.message_at(t0), t0);
}

}  // namespace
}  // namespace mta::delivery
