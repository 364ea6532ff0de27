// The c-ares adapter and the CachingResolver against a real unbound on loopback, started here
// with this file's zone and its query log: MX order and equal-preference shuffle, implicit MX,
// null MX, NXDOMAIN (negative TTL from the SOA), NODATA, CNAME chains, a refused zone, a
// server that never answers, TTL expiry re-query and coalescing as seen in the server's log.
#include "dns/ares_resolver.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/clock.h"
#include "dns/caching_resolver.h"
#include "dns/unbound_for_test.h"

namespace mta::dns {
namespace {

using namespace std::chrono_literals;

// TTLs are explicit: the tests check them.
constexpr const char* zone = R"(
  local-zone: "test." static
  local-data: "test. 3600 IN SOA ns.test. admin.test. 1 3600 600 86400 60"
  local-data: "order.test. 300 IN MX 20 mx-b.order.test."
  local-data: "order.test. 300 IN MX 10 mx-a1.order.test."
  local-data: "order.test. 300 IN MX 10 mx-a2.order.test."
  local-data: "mx-a1.order.test. 600 IN A 127.0.0.11"
  local-data: "mx-a2.order.test. 600 IN A 127.0.0.12"
  local-data: "mx-b.order.test. 120 IN A 127.0.0.13"
  local-data: "mx-b.order.test. 120 IN AAAA 2001:db8::13"
  local-data: "implicit.test. 240 IN A 127.0.0.20"
  local-data: "nullmx.test. 3600 IN MX 0 ."
  local-data: "nodata.test. 300 IN TXT \"no mail here\""
  local-data: "skip.test. 300 IN MX 10 dead.skip.test."
  local-data: "skip.test. 300 IN MX 20 live.skip.test."
  local-data: "live.skip.test. 300 IN A 127.0.0.30"
  local-data: "cname.test. 300 IN CNAME target.test."
  local-data: "target.test. 300 IN MX 10 mx.target.test."
  local-data: "mx.target.test. 300 IN CNAME host.target.test."
  local-data: "host.target.test. 90 IN A 127.0.0.40"
  local-data: "expiry.test. 5 IN MX 10 mx.expiry.test."
  local-data: "mx.expiry.test. 5 IN A 127.0.0.50"
  local-data: "many.test. 300 IN MX 10 mx.many.test."
  local-data: "mx.many.test. 300 IN A 127.0.0.60"
  local-zone: "refused.test." refuse
)";

testing::Unbound* server = nullptr;

class AresResolverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    static testing::Unbound instance;
    server = &instance;
    ASSERT_TRUE(server->start(zone)) << "unbound (Debian package unbound) did not start";
  }
  static void TearDownTestSuite() { server->stop(); }

  void SetUp() override {
    auto created = AresResolver::create(AresOptions{{server->server()}, 1000ms, 2});
    ASSERT_TRUE(created.has_value()) << created.error().message();
    ares_ = std::move(*created);
    cache_.emplace(*ares_, clock_, CacheOptions{.ttl_floor = 1s, .ttl_ceiling = 86400s},
                   MxOptions{}, seeded_random(3));
  }

  MxResult resolve(const std::string& domain) {
    std::optional<MxResult> got;
    cache_->resolve_mx(domain, [&got](MxResult result) { got = std::move(result); });
    const auto ran = run_blocking_until(
        *ares_, [&got] { return got.has_value(); }, 5s);
    EXPECT_TRUE(ran.has_value()) << domain << ": " << (ran ? "" : ran.error().message());
    return got.value_or(MxResult{});
  }

  std::vector<std::string> names(const MxResult& result) {
    std::vector<std::string> out;
    for (const MxHost& host : result.hosts) out.push_back(host.name);
    return out;
  }

  ManualClock clock_;
  std::unique_ptr<AresResolver> ares_;
  std::optional<CachingResolver> cache_;
};

TEST_F(AresResolverTest, DecisionsForEveryKindOfDomain) {
  struct Case {
    std::string domain;
    MxResult::Kind want_kind;
    std::string want_status;
    std::vector<std::string> want_hosts;  // equal preferences sorted for comparison
    std::chrono::seconds want_ttl;
  };
  const std::vector<Case> cases = {
      {"order.test",
       MxResult::deliver,
       "",
       {"mx-a1.order.test", "mx-a2.order.test", "mx-b.order.test"},
       120s},
      {"implicit.test", MxResult::deliver, "", {"implicit.test"}, 60s},  // MX NODATA: SOA 60
      {"nullmx.test", MxResult::bounce, "5.1.10", {}, 3600s},
      {"missing.test", MxResult::bounce, "5.1.2", {}, 60s},  // RFC 2308: SOA minimum
      {"nodata.test", MxResult::bounce, "5.4.4", {}, 60s},
      {"skip.test", MxResult::deliver, "", {"live.skip.test"}, 60s},  // dead host: SOA 60
      {"cname.test", MxResult::deliver, "", {"mx.target.test"}, 90s},
      {"refused.test", MxResult::defer, "4.4.3", {}, 30s},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.domain);
    const MxResult got = resolve(c.domain);
    EXPECT_EQ(got.kind, c.want_kind) << got.reason;
    EXPECT_EQ(got.status, c.want_status);
    std::vector<std::string> hosts = names(got);
    if (hosts.size() >= 2) std::sort(hosts.begin(), hosts.begin() + 2);
    EXPECT_EQ(hosts, c.want_hosts);
    EXPECT_EQ(got.ttl, c.want_ttl);
  }
}

TEST_F(AresResolverTest, AddressesInDiallingOrder) {
  const MxResult got = resolve("order.test");
  ASSERT_EQ(got.hosts.size(), 3u);
  const MxHost& backup = got.hosts[2];
  EXPECT_EQ(backup.preference, 20);
  const std::vector<Address> want = {{Family::ipv4, "127.0.0.13"}, {Family::ipv6, "2001:db8::13"}};
  EXPECT_EQ(backup.addresses, want);
  const MxResult cname = resolve("cname.test");
  ASSERT_EQ(cname.hosts.size(), 1u);
  EXPECT_EQ(cname.hosts[0].addresses, (std::vector<Address>{{Family::ipv4, "127.0.0.40"}}));
}

TEST_F(AresResolverTest, EqualPreferencesAreShuffled) {
  std::set<std::string> firsts;
  for (int i = 0; i < 30; ++i) {
    const MxResult got = resolve("order.test");
    ASSERT_EQ(got.hosts.size(), 3u);
    firsts.insert(got.hosts[0].name);
    EXPECT_EQ(got.hosts[2].name, "mx-b.order.test");
  }
  EXPECT_EQ(firsts, (std::set<std::string>{"mx-a1.order.test", "mx-a2.order.test"}));
}

TEST_F(AresResolverTest, TtlExpiryQueriesAgain) {
  const std::size_t before = server->query_count("expiry.test", "MX");
  EXPECT_EQ(resolve("expiry.test").kind, MxResult::deliver);
  EXPECT_EQ(resolve("expiry.test").kind, MxResult::deliver);  // a hit
  EXPECT_EQ(server->query_count("expiry.test", "MX"), before + 1);
  clock_.advance(6s);  // past the 5 s TTL
  EXPECT_EQ(resolve("expiry.test").kind, MxResult::deliver);
  EXPECT_EQ(server->query_count("expiry.test", "MX"), before + 2);
  EXPECT_EQ(server->query_count("mx.expiry.test", "A"), 2u);
}

TEST_F(AresResolverTest, ManyLookupsOfANewDomainCostOneQuery) {
  constexpr int lookups = 500;
  int answered = 0;
  for (int i = 0; i < lookups; ++i) {
    cache_->resolve_mx("many.test", [&answered](MxResult result) {
      EXPECT_EQ(result.kind, MxResult::deliver);
      ++answered;
    });
  }
  ASSERT_TRUE(run_blocking_until(
                  *ares_, [&] { return answered == lookups; }, 5s)
                  .has_value());
  EXPECT_EQ(server->query_count("many.test", "MX"), 1u);
  EXPECT_EQ(server->query_count("mx.many.test", "A"), 1u);
  EXPECT_EQ(server->query_count("mx.many.test", "AAAA"), 1u);
}

TEST(AresResolverTimeout, AServerThatNeverAnswersDefers) {
  // Bound, never read: queries vanish, as with a dead server behind a firewall.
  const int silent = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(addr);
  ASSERT_EQ(::bind(silent, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ::getsockname(silent, reinterpret_cast<sockaddr*>(&addr), &length);
  const std::string address = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  auto ares = AresResolver::create(AresOptions{{address}, 200ms, 1});
  ASSERT_TRUE(ares.has_value());
  ManualClock clock;
  CachingResolver resolver(**ares, clock, CacheOptions{}, MxOptions{}, seeded_random(1));
  std::optional<MxResult> got;
  const auto start = std::chrono::steady_clock::now();
  resolver.resolve_mx("example.test", [&got](MxResult result) { got = std::move(result); });
  ASSERT_TRUE(run_blocking_until(
                  **ares, [&got] { return got.has_value(); }, 5s)
                  .has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_EQ(got->kind, MxResult::defer);
  EXPECT_EQ(got->status, "4.4.3");
  EXPECT_NE(got->reason.find("timeout"), std::string::npos) << got->reason;
  EXPECT_EQ((*ares)->queries_in_flight(), 0u);
  ::close(silent);
}

TEST(AresResolverOptions, RejectsMalformedServers) {
  for (const char* bad : {"", "localhost", "127.0.0.1:", "127.0.0.1:99999", "[::1", "1.2.3.4:x"}) {
    const auto got = AresResolver::create(AresOptions{{bad}, 1000ms, 1});
    EXPECT_FALSE(got.has_value()) << bad;
  }
  for (const char* good : {"127.0.0.1", "127.0.0.1:5353", "::1", "[::1]:53"}) {
    const auto got = AresResolver::create(AresOptions{{good}, 1000ms, 1});
    EXPECT_TRUE(got.has_value()) << good << ": " << (got ? "" : got.error().message());
  }
}

}  // namespace
}  // namespace mta::dns
