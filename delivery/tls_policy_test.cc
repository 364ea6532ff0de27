// Outbound TLS policy: STARTTLS or not, which context, the session key, plaintext fallback.
#include "delivery/tls_policy.h"

#include <gtest/gtest.h>

namespace mta::delivery {
namespace {

using namespace std::chrono_literals;

TEST(TlsPolicy, StarttlsUnlessNoneOrNoContextOrAnOpportunisticFallback) {
  EXPECT_FALSE(wants_starttls(TlsPolicy::none, true, false));
  EXPECT_FALSE(wants_starttls(TlsPolicy::opportunistic, false, false));
  EXPECT_FALSE(wants_starttls(TlsPolicy::verify, false, false));
  EXPECT_TRUE(wants_starttls(TlsPolicy::opportunistic, true, false));
  EXPECT_FALSE(wants_starttls(TlsPolicy::opportunistic, true, true));
  // A fallback never makes required or verify plaintext.
  EXPECT_TRUE(wants_starttls(TlsPolicy::required, true, true));
  EXPECT_TRUE(wants_starttls(TlsPolicy::verify, true, true));
}

TEST(TlsPolicy, OnlyVerifyUsesTheVerifyingContext) {
  auto* client = reinterpret_cast<tls::ClientContext*>(0x10);
  auto* verify = reinterpret_cast<tls::ClientContext*>(0x20);
  EXPECT_EQ(client_context_for(TlsPolicy::verify, client, verify), verify);
  EXPECT_EQ(client_context_for(TlsPolicy::required, client, verify), client);
  EXPECT_EQ(client_context_for(TlsPolicy::opportunistic, client, verify), client);
  EXPECT_EQ(client_context_for(TlsPolicy::verify, client, nullptr), nullptr);
}

TEST(TlsPolicy, SessionsAreCachedByHostNameAndPortElseByAddress) {
  const auto address = engine::SocketAddress::parse("192.0.2.1:25").value();
  EXPECT_EQ(session_cache_key("mx.example.com", address), "mx.example.com:25");
  EXPECT_EQ(session_cache_key("", address), address.to_string());
}

TEST(TlsFallbacks, PlaintextUntilTheFallbackEndsAndOnlyForThatAddress) {
  TlsFallbacks fallbacks;
  const Clock::TimePoint now{std::chrono::hours(10)};
  EXPECT_FALSE(fallbacks.plaintext_only("192.0.2.1:25", now));
  fallbacks.fall_back("192.0.2.1:25", now + 1h);
  EXPECT_TRUE(fallbacks.plaintext_only("192.0.2.1:25", now));
  EXPECT_TRUE(fallbacks.plaintext_only("192.0.2.1:25", now + 59min));
  EXPECT_FALSE(fallbacks.plaintext_only("192.0.2.1:25", now + 1h));
  EXPECT_FALSE(fallbacks.plaintext_only("192.0.2.2:25", now));
}

}  // namespace
}  // namespace mta::delivery
