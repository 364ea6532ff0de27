// SizeDistribution: parsing (table), sampled shares and bounds, mean and max.
#include "loadgen/size_distribution.h"

#include <gtest/gtest.h>

#include <map>

namespace mta::loadgen {
namespace {

TEST(SizeDistribution, Parse) {
  struct Case {
    const char* spec;
    bool ok;
    double mean;
    std::uint64_t max;
  };
  const Case cases[] = {
      {"4096", true, 4096, 4096},
      {"4k", true, 4096, 4096},
      {"100KiB", true, 102400, 102400},
      {"1k-3k", true, 2048, 3072},
      {"4k:3,100k:1", true, (3 * 4096.0 + 102400) / 4, 102400},
      {"1M:1", true, 1048576, 1048576},
      {"", false, 0, 0},
      {"4x", false, 0, 0},
      {"3k-1k", false, 0, 0},
      {"4k:0", false, 0, 0},
      {"4k:1,", true, 4096, 4096},
      {"4k:1,oops", false, 0, 0},
      {"-1", false, 0, 0},
  };
  for (const Case& c : cases) {
    auto got = SizeDistribution::parse(c.spec);
    ASSERT_EQ(got.has_value(), c.ok) << c.spec;
    if (!c.ok) continue;
    EXPECT_DOUBLE_EQ(got->mean(), c.mean) << c.spec;
    EXPECT_EQ(got->max(), c.max) << c.spec;
    EXPECT_EQ(got->spec(), c.spec);
  }
}

TEST(SizeDistribution, FixedAlwaysSame) {
  const SizeDistribution fixed(4096);
  SplitMix64 random(3);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(fixed.sample(random), 4096u);
  }
}

TEST(SizeDistribution, UniformStaysInRangeAndCoversIt) {
  const auto range = SizeDistribution::parse("100-109").value();
  SplitMix64 random(5);
  std::map<std::uint64_t, int> seen;
  for (int i = 0; i < 10000; ++i) ++seen[range.sample(random)];
  ASSERT_EQ(seen.size(), 10u);
  EXPECT_EQ(seen.begin()->first, 100u);
  EXPECT_EQ(seen.rbegin()->first, 109u);
  for (const auto& [size, count] : seen) {
    EXPECT_NEAR(count, 1000, 150) << size;
  }
}

TEST(SizeDistribution, WeightedFollowsWeights) {
  const auto weighted = SizeDistribution::parse("1k:70,10k:25,100k:5").value();
  SplitMix64 random(11);
  std::map<std::uint64_t, int> seen;
  constexpr int kDraws = 100000;
  for (int i = 0; i < kDraws; ++i) ++seen[weighted.sample(random)];
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_NEAR(100.0 * seen[1024] / kDraws, 70, 0.5);
  EXPECT_NEAR(100.0 * seen[10240] / kDraws, 25, 0.5);
  EXPECT_NEAR(100.0 * seen[102400] / kDraws, 5, 0.3);
}

}  // namespace
}  // namespace mta::loadgen
