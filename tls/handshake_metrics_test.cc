#include "tls/handshake_metrics.h"

#include <gtest/gtest.h>

#include "metrics/scrape_for_test.h"

namespace mta::tls {
namespace {

TEST(HandshakeMetrics, SplitsResumedFromFullHandshakesByDirection) {
  metrics::Catalog catalog;
  const HandshakeMetrics handshake_metrics(catalog);
  metrics::Registry registry(catalog);
  auto shard = handshake_metrics.bind(registry);
  handshake_metrics.publish(shard, {.inbound = {.sessions = 5, .resumed = 2, .failures = 1},
                                    .outbound = {.sessions = 3, .resumed = 0, .failures = 4}});
  const auto value = [&](std::string_view series) {
    return metrics::scraped_for_test(catalog, registry, series);
  };
  EXPECT_EQ(value(R"(outpost_tls_handshakes_total{direction="inbound",resumed="false"})"), 3);
  EXPECT_EQ(value(R"(outpost_tls_handshakes_total{direction="inbound",resumed="true"})"), 2);
  EXPECT_EQ(value(R"(outpost_tls_handshakes_total{direction="outbound",resumed="false"})"), 3);
  EXPECT_EQ(value(R"(outpost_tls_failures_total{direction="outbound"})"), 4);
}

}  // namespace
}  // namespace mta::tls
