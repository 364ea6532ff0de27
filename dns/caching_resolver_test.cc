// CachingResolver over the FakeResolver: the full decision, cache hits, TTL expiry, negative
// caching, coalescing (N lookups, one query, N callbacks), hosts shared between domains.
#include "dns/caching_resolver.h"

#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dns/fake_resolver.h"

namespace mta::dns {
namespace {

using namespace std::chrono_literals;

class CachingResolverTest : public ::testing::Test {
 protected:
  CachingResolverTest() {
    fake_.set_mx("example.test",
                 {{"mx1.example.test", 10}, {"mx2.example.test", 10}, {"backup.example.test", 20}},
                 300s);
    fake_.set_addresses("mx1.example.test", {{Family::ipv4, "192.0.2.1"}}, 600s);
    fake_.set_addresses("mx2.example.test", {{Family::ipv4, "192.0.2.2"}}, 600s);
    fake_.set_addresses("backup.example.test", {{Family::ipv4, "192.0.2.3"}}, 120s);
  }

  MxResult resolve(const std::string& domain) {
    std::optional<MxResult> got;
    resolver_.resolve_mx(domain, [&got](MxResult result) { got = std::move(result); });
    EXPECT_TRUE(got.has_value()) << domain << " did not answer at once";
    return got.value_or(MxResult{});
  }

  ManualClock clock_;
  FakeResolver fake_;
  CachingResolver resolver_{fake_, clock_, CacheOptions{.ttl_floor = 10s, .ttl_ceiling = 3600s},
                            MxOptions{}, seeded_random(1)};
};

TEST_F(CachingResolverTest, ResolvesAndServesFromCacheUntilTheTtl) {
  const MxResult first = resolve("Example.TEST.");
  ASSERT_EQ(first.kind, MxResult::deliver);
  ASSERT_EQ(first.hosts.size(), 3u);
  EXPECT_EQ(first.hosts[2].name, "backup.example.test");
  EXPECT_EQ(first.ttl, 120s);  // the backup host's address TTL is the smallest
  EXPECT_EQ(fake_.queries(), 4u);

  clock_.advance(100s);
  const MxResult hit = resolve("example.test");
  EXPECT_EQ(hit.kind, MxResult::deliver);
  EXPECT_EQ(hit.ttl, 20s);  // what is left
  EXPECT_EQ(fake_.queries(), 4u);

  clock_.advance(20s);  // expired: one MX query; the hosts' own entries: only backup expired
  const MxResult again = resolve("example.test");
  EXPECT_EQ(again.kind, MxResult::deliver);
  EXPECT_EQ(fake_.mx_queries("example.test"), 2u);
  EXPECT_EQ(fake_.address_queries("mx1.example.test"), 1u);
  EXPECT_EQ(fake_.address_queries("backup.example.test"), 2u);
}

TEST_F(CachingResolverTest, EqualPreferencesComeInBothOrdersFromOneCacheEntry) {
  std::set<std::string> firsts;
  for (int i = 0; i < 50; ++i) {
    const MxResult got = resolve("example.test");
    ASSERT_EQ(got.hosts.size(), 3u);
    firsts.insert(got.hosts[0].name);
    EXPECT_EQ(got.hosts[2].name, "backup.example.test");
  }
  EXPECT_EQ(firsts, (std::set<std::string>{"mx1.example.test", "mx2.example.test"}));
  EXPECT_EQ(fake_.mx_queries("example.test"), 1u);
}

TEST_F(CachingResolverTest, DecisionsAndTheirCaching) {
  fake_.set_mx("null.test", {{"", 0}}, 3600s);
  fake_.set_mx("nodata.test", MxAnswer{QueryStatus::nodata, {}, 60s, {}});
  fake_.set_addresses("nodata.test", {{Family::ipv6, "2001:db8::5"}}, 600s);
  fake_.set_mx("empty.test", MxAnswer{QueryStatus::nodata, {}, 60s, {}});
  fake_.set_addresses("empty.test", AddressAnswer{QueryStatus::nodata, {}, 60s, {}});
  fake_.set_mx("broken.test", MxAnswer{QueryStatus::servfail, {}, {}, "SERVFAIL"});
  fake_.set_mx("hostless.test", {{"gone.test", 10}}, 300s);
  struct Case {
    std::string domain;
    MxResult::Kind want_kind;
    std::string want_status;
    std::size_t want_hosts;
    std::chrono::seconds want_ttl;
  };
  const std::vector<Case> cases = {
      {"null.test", MxResult::bounce, "5.1.10", 0, 3600s},
      {"missing.test", MxResult::bounce, "5.1.2", 0, 300s},  // NXDOMAIN, no SOA: default TTL
      {"nodata.test", MxResult::deliver, "", 1, 60s},
      {"empty.test", MxResult::bounce, "5.4.4", 0, 60s},
      {"broken.test", MxResult::defer, "4.4.3", 0, 30s},
      {"hostless.test", MxResult::defer, "4.4.3", 0, 300s},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.domain);
    const MxResult got = resolve(c.domain);
    EXPECT_EQ(got.kind, c.want_kind);
    EXPECT_EQ(got.status, c.want_status);
    EXPECT_EQ(got.hosts.size(), c.want_hosts);
    EXPECT_EQ(got.ttl, c.want_ttl);
    // Negative answers and failures are cached too: a second lookup costs nothing.
    const std::size_t queries = fake_.queries();
    (void)resolve(c.domain);
    EXPECT_EQ(fake_.queries(), queries);
  }
  clock_.advance(31s);  // the SERVFAIL has expired, the NXDOMAIN has not
  (void)resolve("broken.test");
  (void)resolve("missing.test");
  EXPECT_EQ(fake_.mx_queries("broken.test"), 2u);
  EXPECT_EQ(fake_.mx_queries("missing.test"), 1u);
}

TEST_F(CachingResolverTest, CoalescesManyLookupsIntoOneQueryEach) {
  fake_.hold(true);
  constexpr int lookups = 10000;
  int answered = 0;
  for (int i = 0; i < lookups; ++i) {
    resolver_.resolve_mx("example.test", [&answered](MxResult result) {
      EXPECT_EQ(result.kind, MxResult::deliver);
      ++answered;
    });
  }
  EXPECT_EQ(answered, 0);
  EXPECT_EQ(fake_.held(), 1u);  // one MX query
  fake_.release();              // answers MX, which starts the three address queries
  EXPECT_EQ(answered, 0);
  EXPECT_EQ(fake_.held(), 3u);
  fake_.release();
  EXPECT_EQ(answered, lookups);
  EXPECT_EQ(fake_.queries(), 4u);
  EXPECT_EQ(resolver_.lookups_in_flight(), 0u);
}

TEST_F(CachingResolverTest, DomainsSharingMxHostsShareAddressLookups) {
  fake_.set_mx("other.test", {{"mx1.example.test", 5}}, 300s);
  (void)resolve("example.test");
  const MxResult got = resolve("other.test");
  ASSERT_EQ(got.hosts.size(), 1u);
  EXPECT_EQ(got.hosts[0].addresses[0].ip, "192.0.2.1");
  EXPECT_EQ(fake_.address_queries("mx1.example.test"), 1u);
  EXPECT_EQ(resolver_.cached_hosts(), 3u);
  EXPECT_EQ(resolver_.cached_domains(), 2u);
}

TEST_F(CachingResolverTest, CallbackMayResolveAgain) {
  fake_.hold(true);
  int answered = 0;
  resolver_.resolve_mx("example.test", [&](MxResult) {
    ++answered;
    resolver_.resolve_mx("example.test", [&](MxResult) { ++answered; });  // a cache hit
  });
  fake_.release();
  fake_.release();
  EXPECT_EQ(answered, 2);
}

TEST(FakeResolver, UnknownNamesAreNxdomainAndQueriesAreCounted) {
  FakeResolver fake;
  std::optional<MxAnswer> mx;
  fake.query_mx("Nowhere.Test.", [&mx](MxAnswer answer) { mx = std::move(answer); });
  ASSERT_TRUE(mx.has_value());
  EXPECT_EQ(mx->status, QueryStatus::nxdomain);
  std::optional<AddressAnswer> a;
  fake.set_addresses("h.test", {{Family::ipv4, "192.0.2.7"}}, 5s);
  fake.query_addresses("h.test", [&a](AddressAnswer answer) { a = std::move(answer); });
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->addresses.size(), 1u);
  EXPECT_EQ(fake.mx_queries("nowhere.test"), 1u);
  EXPECT_EQ(fake.address_queries("H.TEST"), 1u);
  EXPECT_EQ(fake.queries(), 2u);
}

}  // namespace
}  // namespace mta::dns
