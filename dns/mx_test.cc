// MX decision rules: preference order, equal-preference shuffle, implicit MX, null MX,
// NXDOMAIN, failures, hosts without addresses, address family order, TTL.
#include "dns/mx.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace mta::dns {
namespace {

using namespace std::chrono_literals;

Address v4(const std::string& ip) { return Address{Family::ipv4, ip}; }
Address v6(const std::string& ip) { return Address{Family::ipv6, ip}; }
AddressAnswer found(std::vector<Address> addresses, std::chrono::seconds ttl = 3600s) {
  return AddressAnswer{QueryStatus::ok, std::move(addresses), ttl, {}};
}
AddressAnswer failed(QueryStatus status) { return AddressAnswer{status, {}, std::nullopt, {}}; }

// "pref:name" for each host, in order.
std::vector<std::string> order(const MxResult& result) {
  std::vector<std::string> out;
  for (const MxHost& host : result.hosts) {
    out.push_back(std::to_string(host.preference) + ":" + host.name);
  }
  return out;
}

TEST(MxPlan, DecisionsFromTheMxAnswerAlone) {
  struct Case {
    const char* name;
    MxAnswer answer;
    bool want_decided;
    MxResult::Kind want_kind;
    std::string want_status;
    std::vector<std::string> want_targets;
  };
  const std::vector<Case> cases = {
      {"nxdomain", {QueryStatus::nxdomain, {}, 60s, {}}, true, MxResult::bounce, "5.1.2", {}},
      {"servfail", {QueryStatus::servfail, {}, {}, {}}, true, MxResult::defer, "4.4.3", {}},
      {"refused", {QueryStatus::refused, {}, {}, {}}, true, MxResult::defer, "4.4.3", {}},
      {"timeout", {QueryStatus::timeout, {}, {}, {}}, true, MxResult::defer, "4.4.3", {}},
      {"null mx", {QueryStatus::ok, {{"", 0}}, 300s, {}}, true, MxResult::bounce, "5.1.10", {}},
      {"null mx dot",
       {QueryStatus::ok, {{".", 0}}, 300s, {}},
       true,
       MxResult::bounce,
       "5.1.10",
       {}},
      {"nodata is implicit mx",
       {QueryStatus::nodata, {}, 60s, {}},
       false,
       MxResult::deliver,
       "",
       {"0:example.test"}},
      {"sorted by preference",
       {QueryStatus::ok, {{"c.test", 30}, {"A.test.", 10}, {"b.test", 20}}, 300s, {}},
       false,
       MxResult::deliver,
       "",
       {"10:a.test", "20:b.test", "30:c.test"}},
      {"null mx mixed with others is skipped",
       {QueryStatus::ok, {{"", 0}, {"mx.test", 10}}, 300s, {}},
       false,
       MxResult::deliver,
       "",
       {"10:mx.test"}},
      {"duplicate host keeps its best preference",
       {QueryStatus::ok, {{"mx.test", 20}, {"mx.test", 10}}, 300s, {}},
       false,
       MxResult::deliver,
       "",
       {"10:mx.test"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const MxPlan got = plan_mx("Example.Test.", c.answer, MxOptions{});
    EXPECT_EQ(got.decided, c.want_decided);
    if (got.decided) {
      EXPECT_EQ(got.result.kind, c.want_kind);
      EXPECT_EQ(got.result.status, c.want_status);
      EXPECT_FALSE(got.result.reason.empty());
    }
    std::vector<std::string> targets;
    for (const MxRecord& t : got.targets) {
      targets.push_back(std::to_string(t.preference) + ":" + t.host);
    }
    EXPECT_EQ(targets, c.want_targets);
  }
}

TEST(MxPlan, NegativeTtlFromSoaElseDefault) {
  MxOptions options;
  options.negative_ttl = 123s;
  EXPECT_EQ(plan_mx("x.test", {QueryStatus::nxdomain, {}, 45s, {}}, options).result.ttl, 45s);
  EXPECT_EQ(plan_mx("x.test", {QueryStatus::nxdomain, {}, {}, {}}, options).result.ttl, 123s);
  options.failure_ttl = 7s;
  EXPECT_EQ(plan_mx("x.test", {QueryStatus::servfail, {}, {}, {}}, options).result.ttl, 7s);
}

TEST(MxFinish, HostsAddressesAndOutcomes) {
  const MxAnswer three{QueryStatus::ok, {{"a.test", 10}, {"b.test", 20}, {"c.test", 30}}, 600s, {}};
  struct Case {
    const char* name;
    MxAnswer mx;
    std::vector<AddressAnswer> addresses;
    MxResult::Kind want_kind;
    std::string want_status;
    std::vector<std::string> want_order;
    std::chrono::seconds want_ttl;
  };
  const std::vector<Case> cases = {
      {"all resolve",
       three,
       {found({v4("192.0.2.1")}), found({v4("192.0.2.2")}, 100s), found({v4("192.0.2.3")})},
       MxResult::deliver,
       "",
       {"10:a.test", "20:b.test", "30:c.test"},
       100s},
      {"host without addresses skipped",
       three,
       {found({v4("192.0.2.1")}), failed(QueryStatus::nxdomain), found({v4("192.0.2.3")})},
       MxResult::deliver,
       "",
       {"10:a.test", "30:c.test"},
       300s},  // the NXDOMAIN host's negative TTL (default 300 s) bounds the decision
      {"host with a failed lookup skipped",
       three,
       {failed(QueryStatus::servfail), found({v4("192.0.2.2")}), found({v4("192.0.2.3")})},
       MxResult::deliver,
       "",
       {"20:b.test", "30:c.test"},
       30s},
      {"no host has addresses: defer",
       three,
       {failed(QueryStatus::nxdomain), failed(QueryStatus::nodata), found({})},
       MxResult::defer,
       "4.4.3",
       {},
       300s},
      {"implicit mx resolves",
       {QueryStatus::nodata, {}, 60s, {}},
       {found({v4("192.0.2.9")})},
       MxResult::deliver,
       "",
       {"0:example.test"},
       60s},
      {"implicit mx without addresses: bounce 5.4.4",
       {QueryStatus::nodata, {}, 60s, {}},
       {failed(QueryStatus::nodata)},
       MxResult::bounce,
       "5.4.4",
       {},
       60s},
      {"implicit mx lookup failure: defer",
       {QueryStatus::nodata, {}, 60s, {}},
       {failed(QueryStatus::timeout)},
       MxResult::defer,
       "4.4.3",
       {},
       30s},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const MxOptions options;
    const MxPlan plan = plan_mx("example.test", c.mx, options);
    ASSERT_FALSE(plan.decided);
    const MxResult got = finish_mx(plan, c.addresses, options);
    EXPECT_EQ(got.kind, c.want_kind);
    EXPECT_EQ(got.status, c.want_status);
    EXPECT_EQ(order(got), c.want_order);
    EXPECT_EQ(got.ttl, c.want_ttl);
    if (got.kind != MxResult::deliver) {
      EXPECT_FALSE(got.reason.empty());
    }
  }
}

TEST(MxFinish, AddressFamilyPreference) {
  const MxPlan plan = plan_mx("example.test", {QueryStatus::ok, {{"mx.test", 10}}, 60s, {}}, {});
  const std::vector<AddressAnswer> answers = {
      found({v6("2001:db8::1"), v4("192.0.2.1"), v6("2001:db8::2"), v4("192.0.2.2")})};
  struct Case {
    bool prefer_ipv6;
    std::vector<Address> want;
  };
  const std::vector<Case> cases = {
      {false, {v4("192.0.2.1"), v4("192.0.2.2"), v6("2001:db8::1"), v6("2001:db8::2")}},
      {true, {v6("2001:db8::1"), v6("2001:db8::2"), v4("192.0.2.1"), v4("192.0.2.2")}},
  };
  for (const Case& c : cases) {
    MxOptions options;
    options.prefer_ipv6 = c.prefer_ipv6;
    const MxResult got = finish_mx(plan, answers, options);
    ASSERT_EQ(got.hosts.size(), 1u);
    EXPECT_EQ(got.hosts[0].addresses, c.want) << "prefer_ipv6=" << c.prefer_ipv6;
  }
}

TEST(MxShuffle, EqualPreferencesTakeEveryOrderAndGroupsStayInPlace) {
  const std::vector<MxHost> hosts = {{"a", 10, {}}, {"b", 10, {}}, {"c", 20, {}},
                                     {"d", 30, {}}, {"e", 30, {}}, {"f", 30, {}}};
  const RandomBelow random = seeded_random(42);
  std::set<std::string> seen_first_group;
  std::set<std::string> seen_last_group;
  for (int run = 0; run < 200; ++run) {
    std::vector<MxHost> got = hosts;
    shuffle_equal_preference(got, random);
    ASSERT_EQ(got.size(), hosts.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].preference, hosts[i].preference);  // groups never move
    }
    EXPECT_EQ(got[2].name, "c");
    seen_first_group.insert(got[0].name + got[1].name);
    seen_last_group.insert(got[3].name + got[4].name + got[5].name);
  }
  EXPECT_EQ(seen_first_group, (std::set<std::string>{"ab", "ba"}));
  EXPECT_EQ(seen_last_group.size(), 6u);  // all 3! orders
}

TEST(MxShuffle, SameSeedSameOrder) {
  std::vector<MxHost> one = {{"a", 10, {}}, {"b", 10, {}}, {"c", 10, {}}, {"d", 10, {}}};
  std::vector<MxHost> two = one;
  shuffle_equal_preference(one, seeded_random(7));
  shuffle_equal_preference(two, seeded_random(7));
  EXPECT_EQ(one, two);
}

TEST(NormalizeName, LowerCaseWithoutTrailingDot) {
  EXPECT_EQ(normalize_name("MX1.Example.COM."), "mx1.example.com");
  EXPECT_EQ(normalize_name("."), "");
  EXPECT_EQ(normalize_name(""), "");
}

}  // namespace
}  // namespace mta::dns
