// TtlCache: TTL floor and ceiling, expiry, failures, coalescing, eviction.
#include "dns/cache.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mta::dns {
namespace {

using namespace std::chrono_literals;

TEST(ClampTtl, FloorAndCeiling) {
  const CacheOptions options{.ttl_floor = 30s, .ttl_ceiling = 3600s};
  struct Case {
    std::chrono::seconds ttl;
    TtlKind kind;
    std::chrono::seconds want;
  };
  const std::vector<Case> cases = {
      {0s, TtlKind::answer, 30s},    {10s, TtlKind::answer, 30s},
      {300s, TtlKind::answer, 300s}, {86400s, TtlKind::answer, 3600s},
      {-5s, TtlKind::answer, 30s},   {10s, TtlKind::failure, 10s},
      {0s, TtlKind::failure, 0s},    {7200s, TtlKind::failure, 3600s},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(clamp_ttl(c.ttl, c.kind, options), c.want)
        << c.ttl.count() << " kind " << static_cast<int>(c.kind);
  }
}

TEST(TtlCache, HitUntilTheClampedTtlRunsOut) {
  TtlCache<int> cache(CacheOptions{.ttl_floor = 10s, .ttl_ceiling = 100s});
  const Clock::TimePoint t0{};
  struct Case {
    std::string key;
    std::chrono::seconds ttl;
    std::chrono::seconds want_kept;
  };
  const std::vector<Case> cases = {
      {"floor", 1s, 10s}, {"plain", 50s, 50s}, {"ceiling", 500s, 100s}};
  for (const Case& c : cases) {
    ASSERT_TRUE(cache.wait(c.key, [](const int&, std::chrono::seconds) {}));
    const auto waiters = cache.complete(c.key, 7, c.ttl, TtlKind::answer, t0);
    EXPECT_EQ(waiters.size(), 1u);
  }
  for (const Case& c : cases) {
    SCOPED_TRACE(c.key);
    std::chrono::seconds remaining{};
    const int* got = cache.find(c.key, t0 + c.want_kept - 1s, &remaining);
    ASSERT_NE(got, nullptr);
    EXPECT_EQ(*got, 7);
    EXPECT_EQ(remaining, 1s);
    EXPECT_EQ(cache.find(c.key, t0 + c.want_kept), nullptr);  // expired exactly at the TTL
  }
}

TEST(TtlCache, CoalescesLookupsInFlight) {
  TtlCache<std::string> cache(CacheOptions{});
  std::vector<std::string> got;
  int starts = 0;
  for (int i = 0; i < 1000; ++i) {
    if (cache.wait("example.test", [&got, i](const std::string& value, std::chrono::seconds) {
          got.push_back(value + std::to_string(i));
        })) {
      ++starts;
    }
  }
  EXPECT_EQ(starts, 1);
  EXPECT_EQ(cache.in_flight(), 1u);
  const auto waiters = cache.complete("example.test", "v", 60s, TtlKind::answer, {});
  EXPECT_EQ(cache.in_flight(), 0u);
  for (const auto& waiter : waiters) waiter("v", 60s);
  ASSERT_EQ(got.size(), 1000u);
  EXPECT_EQ(got.front(), "v0");
  EXPECT_EQ(got.back(), "v999");
  // A new wait after completion is a new lookup.
  EXPECT_TRUE(cache.wait("other.test", [](const std::string&, std::chrono::seconds) {}));
}

TEST(TtlCache, ZeroFailureTtlIsNotStored) {
  TtlCache<int> cache(CacheOptions{});
  ASSERT_TRUE(cache.wait("k", [](const int&, std::chrono::seconds) {}));
  (void)cache.complete("k", 1, 0s, TtlKind::failure, {});
  EXPECT_EQ(cache.find("k", {}), nullptr);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(TtlCache, EvictsExpiredThenSoonestWhenFull) {
  TtlCache<int> cache(CacheOptions{.ttl_floor = 0s, .ttl_ceiling = 1000s, .entries_max = 3});
  const Clock::TimePoint t0{};
  const auto put = [&cache](const std::string& key, std::chrono::seconds ttl,
                            Clock::TimePoint now) {
    ASSERT_TRUE(cache.wait(key, [](const int&, std::chrono::seconds) {}));
    (void)cache.complete(key, 1, ttl, TtlKind::answer, now);
  };
  put("a", 10s, t0);
  put("b", 500s, t0);
  put("c", 100s, t0);
  put("d", 300s, t0 + 20s);  // "a" has expired: it goes
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.find("b", t0 + 20s) != nullptr, true);
  put("e", 300s, t0 + 20s);  // none expired: "c" expires soonest
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.find("c", t0 + 20s), nullptr);
  EXPECT_NE(cache.find("e", t0 + 20s), nullptr);
}

}  // namespace
}  // namespace mta::dns
