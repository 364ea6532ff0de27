#include "mailbox/probe_metrics.h"

#include <gtest/gtest.h>

#include "mailbox/bounce.h"
#include "mailbox/bounce_rules.h"
#include "metrics/scrape_for_test.h"

namespace mta::mailbox {
namespace {

TEST(ProbeMetrics, PublishesBouncesByKindListenersByProtocolAndSizes) {
  metrics::Catalog catalog;
  const ProbeMetrics probe_metrics(catalog);
  metrics::Registry registry(catalog);
  auto shard = probe_metrics.bind(registry);
  const auto value = [&](std::string_view series) {
    return metrics::scraped_for_test(catalog, registry, series);
  };
  IntakeProbe intake;
  intake.by_kind[static_cast<std::size_t>(BounceKind::dsn)] = 3;
  intake.by_category[static_cast<std::size_t>(Category::invalid_recipient)] = 2;
  MailListenerProbe imap, pop3;
  pop3.login_refused = 4;
  const StoreProbe store{.expired_quota = 1};
  const IntakeLimiter::Probe limits{.refused_bytes = 5};
  probe_metrics.publish(shard,
                        {.smtp = {.accepted = 6},
                         .intake = intake,
                         .imap = imap,
                         .pop3 = pop3,
                         .store = store,
                         .limits = limits},
                        {.suppressed_addresses = 8, .bytes = 100, .messages = 9});
  EXPECT_EQ(value(R"(outpost_bounces_received_total{kind="dsn"})"), 3);
  EXPECT_EQ(value(R"(outpost_bounces_total{category="invalid_recipient"})"), 2);
  EXPECT_EQ(value(R"(outpost_mailbox_logins_total{protocol="pop3",result="refused"})"), 4);
  EXPECT_EQ(value(R"(outpost_mailbox_connections_total{protocol="smtp",result="accepted"})"), 6);
  EXPECT_EQ(value(R"(outpost_mailbox_expired_total{reason="quota"})"), 1);
  EXPECT_EQ(value(R"(outpost_bounce_intake_refused_total{limit="bytes"})"), 5);
  EXPECT_EQ(value("outpost_suppressed_addresses"), 8);
  EXPECT_EQ(value("outpost_mailbox_bytes"), 100);
  EXPECT_EQ(value("outpost_mailbox_messages"), 9);
}

}  // namespace
}  // namespace mta::mailbox
