// SpscChannel: bounds, order, and a two-thread stress run (the shape shards use it in).
#include "engine/channel.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <thread>

namespace mta::engine {
namespace {

TEST(SpscChannel, ReportsFullAndKeepsOrder) {
  SpscChannel<int> channel(3);
  int value = 0;
  EXPECT_FALSE(channel.try_pop(value));
  for (int i = 0; i < 3; ++i) {
    int item = i;
    EXPECT_TRUE(channel.try_push(item));
  }
  int extra = 99;
  EXPECT_FALSE(channel.try_push(extra));
  EXPECT_EQ(extra, 99);  // not consumed on failure
  EXPECT_EQ(channel.size(), 3u);
  for (int want = 0; want < 3; ++want) {
    ASSERT_TRUE(channel.try_pop(value));
    EXPECT_EQ(value, want);
  }
  EXPECT_FALSE(channel.try_pop(value));
  // Wraps around the ring.
  for (int round = 0; round < 10; ++round) {
    int item = round;
    ASSERT_TRUE(channel.try_push(item));
    ASSERT_TRUE(channel.try_pop(value));
    EXPECT_EQ(value, round);
  }
}

TEST(SpscChannel, TwoThreadsDeliverEverythingInOrder) {
  constexpr std::uint64_t kCount = 200'000;
  SpscChannel<std::uint64_t> channel(64);
  std::thread producer([&] {
    for (std::uint64_t i = 0; i < kCount; ++i) {
      std::uint64_t item = i;
      while (!channel.try_push(item)) std::this_thread::yield();
    }
  });
  std::uint64_t want = 0;
  std::uint64_t got = 0;
  bool in_order = true;
  while (want < kCount) {
    if (!channel.try_pop(got)) {
      std::this_thread::yield();
      continue;
    }
    if (got != want) in_order = false;
    ++want;
  }
  producer.join();
  EXPECT_TRUE(in_order);
  EXPECT_EQ(channel.size(), 0u);
}

}  // namespace
}  // namespace mta::engine
