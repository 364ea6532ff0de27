// Tests of delivery's metric families: probe counters, schedule gauges, open connections by
// destination, and recipient outcomes by destination and tenant.
#include "delivery/probe_metrics.h"

#include <gtest/gtest.h>

#include "delivery/outcome_metrics.h"
#include "metrics/scrape_for_test.h"

namespace mta::delivery {
namespace {

TEST(ProbeMetrics, PublishesCountersPartsAndConnectionsByDestination) {
  metrics::Catalog catalog;
  const ProbeMetrics probe_metrics(catalog, 1);
  metrics::Registry registry(catalog);
  auto shard = probe_metrics.bind(registry);
  const auto value = [&](std::string_view series) {
    return metrics::scraped_for_test(catalog, registry, series);
  };
  Probe probe;
  probe.transactions = 7;
  probe.shaping_throttles = 2;
  BounceProbe bounce;
  bounce.null_sender_failures = 1;
  const std::pair<std::string, std::size_t> open[] = {{"a.example", 2}, {"b.example", 3}};
  probe_metrics.publish(shard, {.delivery = probe, .bounce = bounce},
                        {.scheduled = 4, .waiting = 1, .ready = 2, .in_flight = 3}, open);
  EXPECT_EQ(value("outpost_delivery_transactions_total"), 7);
  EXPECT_EQ(value(R"(outpost_shaping_actions_total{action="throttle"})"), 2);
  EXPECT_EQ(value(R"(outpost_dsn_failures_total{reason="null_sender"})"), 1);
  EXPECT_EQ(value("outpost_queue_parts_scheduled"), 4);
  EXPECT_EQ(value(R"(outpost_queue_messages{state="in_flight"})"), 3);
  // One destination keeps its own series; the other counts as "other".
  EXPECT_EQ(value(R"(outpost_connections_open{destination="a.example"})"), 2);
  EXPECT_EQ(value(R"(outpost_connections_open{destination="other"})"), 3);
  // A destination with no connection left goes to zero.
  probe_metrics.publish(shard, {.delivery = probe, .bounce = bounce}, {}, {});
  EXPECT_EQ(value(R"(outpost_connections_open{destination="a.example"})"), 0);
}

TEST(OutcomeMetrics, CountsByDestinationAndTenantAndTimesFinalOutcomes) {
  metrics::Catalog catalog;
  const OutcomeMetrics outcome_metrics(catalog, 10, 10);
  metrics::Registry registry(catalog);
  auto shard = outcome_metrics.bind(registry);
  const auto value = [&](std::string_view series) {
    return metrics::scraped_for_test(catalog, registry, series);
  };
  queue::Envelope envelope;
  envelope.destination = "example.net";
  envelope.tenant = "shop";
  envelope.received_at = Clock::WallTime{} + std::chrono::seconds(1);
  queue::Recipient recipient{.address = "a@example.net", .state = queue::RecipientState::delivered};
  const auto at = envelope.received_at + std::chrono::milliseconds(30);
  OutcomeMetrics::count(shard, {.envelope = envelope, .recipient = recipient, .at = at});
  recipient.state = queue::RecipientState::deferred;
  OutcomeMetrics::count(shard, {.envelope = envelope, .recipient = recipient, .at = at});
  recipient.state = queue::RecipientState::pending;
  OutcomeMetrics::count(shard, {.envelope = envelope, .recipient = recipient, .at = at});
  EXPECT_EQ(value(R"(outpost_deliveries_total{result="delivered",destination="example.net"})"), 1);
  EXPECT_EQ(value(R"(outpost_deliveries_total{result="deferred",destination="example.net"})"), 1);
  EXPECT_EQ(value(R"(outpost_tenant_deliveries_total{result="delivered",tenant="shop"})"), 1);
  EXPECT_EQ(value("outpost_delivery_duration_seconds_count"), 1);  // deferred is not final
  envelope.tenant.clear();
  recipient.state = queue::RecipientState::bounced;
  OutcomeMetrics::count(shard, {.envelope = envelope, .recipient = recipient, .at = at});
  EXPECT_EQ(value(R"x(outpost_tenant_deliveries_total{result="bounced",tenant="(none)"})x"), 1);
}

}  // namespace
}  // namespace mta::delivery
