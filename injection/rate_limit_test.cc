// Rate limits: parsing, a bucket that empties and refills at the rate, keys kept apart, the
// wait a 429 announces, and the split across shards.
#include "injection/rate_limit.h"

#include <gtest/gtest.h>

namespace mta::injection {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(RateLimit, ParsesRates) {
  struct Case {
    std::string_view text;
    double count;
    Clock::Duration period;
  };
  for (const Case& c :
       {Case{"100/s", 100, seconds(1)}, Case{"6000/m", 6000, std::chrono::minutes(1)},
        Case{"5/h", 5, std::chrono::hours(1)}, Case{"1/d", 1, std::chrono::hours(24)},
        Case{"", 0, seconds(1)}, Case{"0", 0, seconds(1)}}) {
    auto rate = parse_rate(c.text);
    ASSERT_TRUE(rate) << c.text;
    EXPECT_EQ(rate->count, c.count) << c.text;
    EXPECT_EQ(rate->period, c.period) << c.text;
  }
  for (std::string_view bad : {"100", "100/x", "-1/s", "a/s", "10/", "/s", "1.5/s"}) {
    EXPECT_FALSE(parse_rate(bad)) << bad;
  }
}

TEST(RateLimit, EmptiesThenRefillsAtTheRate) {
  RateLimiter limiter(Rate{.count = 10, .period = seconds(1)});
  const Clock::TimePoint t0{};
  int taken = 0;
  while (limiter.take("1.2.3.4", t0)) ++taken;
  EXPECT_EQ(taken, 10);  // a new client starts with a full bucket
  EXPECT_FALSE(limiter.take("1.2.3.4", t0 + milliseconds(50)));
  EXPECT_TRUE(limiter.take("1.2.3.4", t0 + milliseconds(110)));  // one token per 100 ms
  EXPECT_FALSE(limiter.take("1.2.3.4", t0 + milliseconds(150)));
  EXPECT_TRUE(limiter.take("5.6.7.8", t0));  // another key has its own bucket
}

TEST(RateLimit, WaitSaysWhenTheTokensAreThere) {
  RateLimiter limiter(Rate{.count = 2, .period = seconds(1)});
  const Clock::TimePoint t0{};
  EXPECT_TRUE(limiter.take("k", t0, 2));
  EXPECT_EQ(limiter.wait("k", t0), milliseconds(500));
  EXPECT_EQ(limiter.wait("k", t0, 2), seconds(1));
  EXPECT_EQ(limiter.wait("other", t0), Clock::Duration::zero());
}

TEST(RateLimit, ABatchLargerThanTheBucketPassesOnAFullOne) {
  RateLimiter limiter(Rate{.count = 5, .period = seconds(1)});
  const Clock::TimePoint t0{};
  EXPECT_TRUE(limiter.take("k", t0, 50));               // full bucket: let it through...
  EXPECT_FALSE(limiter.take("k", t0 + seconds(5), 1));  // ...and it pays its debt first
  EXPECT_TRUE(limiter.take("k", t0 + seconds(10), 1));
}

TEST(RateLimit, UnlimitedTakesEverything) {
  RateLimiter limiter(Rate{});
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limiter.take("k", Clock::TimePoint{}));
  EXPECT_EQ(limiter.keys(), 0U);
}

TEST(RateLimit, ForgetsIdleKeysWhenFull) {
  RateLimiter limiter(Rate{.count = 1, .period = seconds(1)}, 2);
  const Clock::TimePoint t0{};
  EXPECT_TRUE(limiter.take("a", t0));
  EXPECT_TRUE(limiter.take("b", t0));
  EXPECT_TRUE(limiter.take("c", t0 + seconds(5)));  // a and b refilled: pruned
  EXPECT_EQ(limiter.keys(), 1U);
}

TEST(RateLimit, SplitsAcrossShards) {
  const Rate node{.count = 100, .period = seconds(1)};
  EXPECT_EQ(node.per_shard(1), node);
  const Rate half = node.per_shard(2);
  EXPECT_EQ(half.count, 50);
  EXPECT_EQ(half.period, seconds(1));
  // 1 per second over 4 shards: each may send one message every 4 seconds.
  const Rate slow = Rate{.count = 1, .period = seconds(1)}.per_shard(4);
  EXPECT_EQ(slow.count, 1);
  EXPECT_EQ(slow.period, seconds(4));
}

}  // namespace
}  // namespace mta::injection
