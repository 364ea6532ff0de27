#include "injection/probe_metrics.h"

#include <gtest/gtest.h>

#include "metrics/scrape_for_test.h"

namespace mta::injection {
namespace {

TEST(ProbeMetrics, PublishesBothListenersByLabelAndSigningTogether) {
  metrics::Catalog catalog;
  const ProbeMetrics probe_metrics(catalog);
  metrics::Registry registry(catalog);
  auto shard = probe_metrics.bind(registry);
  Probe smtp, http;
  smtp.messages_queued = 3;
  http.messages_queued = 2;
  smtp.auth_refused = 1;
  smtp.signatures = 4;
  http.signatures = 5;
  probe_metrics.publish(shard, {.smtp = smtp, .http = http});
  const auto value = [&](std::string_view series) {
    return metrics::scraped_for_test(catalog, registry, series);
  };
  EXPECT_EQ(value(R"(outpost_messages_received_total{listener="smtp"})"), 3);
  EXPECT_EQ(value(R"(outpost_messages_received_total{listener="http"})"), 2);
  EXPECT_EQ(value(R"(outpost_auth_attempts_total{listener="smtp",result="refused"})"), 1);
  EXPECT_EQ(value("outpost_dkim_signatures_total"), 9);
  shard.session_seconds->observe(0.01);
  EXPECT_EQ(value("outpost_smtp_session_duration_seconds_count"), 1);
  EXPECT_EQ(value("outpost_dkim_sign_seconds_count"), 0);
}

}  // namespace
}  // namespace mta::injection
