// Pool names of MX host sets, and the TLS policy in them.
#include "delivery/pool_handoff.h"

#include <gtest/gtest.h>

namespace mta::delivery {
namespace {

dns::MxResult mx(std::vector<std::string> names) {
  dns::MxResult result{.kind = dns::MxResult::deliver};
  std::uint16_t preference = 0;
  for (auto& name : names) {
    result.hosts.push_back(dns::MxHost{.name = std::move(name), .preference = preference});
    preference += 10;
  }
  return result;
}

TEST(PoolName, SortedLowerCasedHostsWhateverThePreferences) {
  EXPECT_EQ(pool_name(mx({"MX2.Example.com.", "mx1.example.com"})),
            "mx:mx1.example.com,mx2.example.com");
  EXPECT_EQ(pool_name(mx({"mx1.example.com", "mx2.example.com"})),
            pool_name(mx({"mx2.example.com.", "MX1.example.com"})));
  EXPECT_EQ(pool_name(mx({"a.test", "a.test."})), "mx:a.test");
  EXPECT_EQ(pool_name(mx({})), "mx:");
}

TEST(PoolName, DomainsShareAPoolOnlyUnderTheSamePolicy) {
  const dns::MxResult result = mx({"mx.example.com"});
  EXPECT_EQ(pool_name(result, TlsPolicy::opportunistic), "mx:mx.example.com");
  EXPECT_EQ(pool_name(result, TlsPolicy::verify), "mx:mx.example.com;tls=verify");
  EXPECT_EQ(pool_name(result, TlsPolicy::none), "mx:mx.example.com;tls=none");
}

}  // namespace
}  // namespace mta::delivery
