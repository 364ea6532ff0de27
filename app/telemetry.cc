// Telemetry: the metric families, declared once, and one registry per shard whose counters
// follow the shard's probes (added the difference since the last sync, so counters only grow).
#include "app/telemetry.h"

#include <span>
#include <utility>

#include "base/assert.h"
#include "metrics/exposition.h"
#include "metrics/process.h"

namespace mta::app {
namespace {

metrics::CounterFamily counter(metrics::Catalog& catalog, std::string name, std::string help,
                               std::vector<std::string> labels = {}) {
  auto family = catalog.add_counter({std::move(name), std::move(help), std::move(labels)});
  MTA_ASSERT(family.has_value());  // the names below are fixed and checked by the tests
  return *family;
}

}  // namespace

struct Telemetry::Shard {
  explicit Shard(const metrics::Catalog& catalog) : registry(catalog) {}

  // A counter that follows a probe field.
  struct Follow {
    metrics::Counter* counter;
    std::uint64_t last = 0;
    void to(std::uint64_t now) {
      if (now > last) counter->add(now - last);
      last = now;
    }
  };

  metrics::Registry registry;
  Follow received, received_bytes, accepted, refused, signed_messages, signatures, sign_failures,
      injection_store_failures, delivered, deferred, bounced, transactions, connections_opened,
      connection_failures, delivery_store_failures, tls_in, tls_in_resumed, tls_in_failures,
      tls_out, tls_out_resumed, tls_out_failures, tls_out_verified, tls_fallbacks,
      tls_required_unmet, handed_to_pools, dsns, null_sender_failures, dsn_failures;
  metrics::Gauge* scheduled = nullptr;
};

Telemetry::Telemetry(std::uint32_t shard_count) {
  auto& c = catalog_;
  const auto received = counter(c, "outpost_messages_received_total",
                                "Messages accepted and made durable, by listener.", {"listener"});
  const auto received_bytes = counter(c, "outpost_received_bytes_total",
                                      "Bytes of the messages accepted, by listener.", {"listener"});
  const auto connections = counter(
      c, "outpost_smtp_connections_total",
      "Inbound SMTP connections, accepted or refused (over the limit, or stopping).", {"result"});
  const auto signed_messages =
      counter(c, "outpost_dkim_signed_messages_total", "Messages DKIM-signed at acceptance.");
  const auto signatures =
      counter(c, "outpost_dkim_signatures_total", "DKIM-Signature fields added.");
  const auto sign_failures = counter(c, "outpost_dkim_sign_failures_total",
                                     "Messages refused because their header could not be signed.");
  const auto store_failures =
      counter(c, "outpost_queue_store_failures_total",
              "Failed queue writes or reads, by path (injection answered 451/452).", {"path"});
  const auto deliveries = counter(
      c, "outpost_deliveries_total",
      "Recipient outcomes of delivery attempts: delivered, deferred or bounced.", {"result"});
  const auto transactions =
      counter(c, "outpost_delivery_transactions_total", "SMTP transactions that got a reply.");
  const auto delivery_connections =
      counter(c, "outpost_delivery_connections_total",
              "Outbound connections opened, and those that failed before their session was up.",
              {"result"});
  const auto handshakes = counter(c, "outpost_tls_handshakes_total", "TLS handshakes completed.",
                                  {"direction", "resumed"});
  const auto tls_failures = counter(c, "outpost_tls_failures_total",
                                    "TLS handshakes that failed or timed out.", {"direction"});
  const auto tls_verified = counter(c, "outpost_tls_verified_total",
                                    "Outbound TLS sessions with a verified chain and host name.");
  const auto tls_fallbacks =
      counter(c, "outpost_tls_plaintext_fallbacks_total",
              "Opportunistic TLS that failed: the address is used in plaintext for a while.");
  const auto tls_unmet = counter(c, "outpost_tls_policy_unmet_total",
                                 "Connections closed because TLS was required and not offered.");
  const auto handed = counter(c, "outpost_parts_handed_to_pools_total",
                              "Due parts a domain handed to the pool of its MX host set.");
  const auto dsns = counter(c, "outpost_dsns_total",
                            "Delivery status notifications (bounces) queued to senders.");
  const auto dsn_failures =
      counter(c, "outpost_dsn_failures_total",
              "DSNs that could not be written, or not sent (null sender).", {"reason"});
  auto scheduled = c.add_gauge({"outpost_queue_parts_scheduled",
                                "Queued parts waiting in the shards' delivery schedules.",
                                {}});
  MTA_ASSERT(scheduled.has_value());

  for (std::uint32_t i = 0; i < shard_count; ++i) {
    auto shard = std::make_unique<Shard>(catalog_);
    metrics::Registry& r = shard->registry;
    shard->received.counter = &r.counter(received, {"smtp"});
    shard->received_bytes.counter = &r.counter(received_bytes, {"smtp"});
    shard->accepted.counter = &r.counter(connections, {"accepted"});
    shard->refused.counter = &r.counter(connections, {"refused"});
    shard->signed_messages.counter = &r.counter(signed_messages);
    shard->signatures.counter = &r.counter(signatures);
    shard->sign_failures.counter = &r.counter(sign_failures);
    shard->injection_store_failures.counter = &r.counter(store_failures, {"injection"});
    shard->delivery_store_failures.counter = &r.counter(store_failures, {"delivery"});
    shard->delivered.counter = &r.counter(deliveries, {"delivered"});
    shard->deferred.counter = &r.counter(deliveries, {"deferred"});
    shard->bounced.counter = &r.counter(deliveries, {"bounced"});
    shard->transactions.counter = &r.counter(transactions);
    shard->connections_opened.counter = &r.counter(delivery_connections, {"opened"});
    shard->connection_failures.counter = &r.counter(delivery_connections, {"failed"});
    shard->tls_in.counter = &r.counter(handshakes, {"inbound", "false"});
    shard->tls_in_resumed.counter = &r.counter(handshakes, {"inbound", "true"});
    shard->tls_out.counter = &r.counter(handshakes, {"outbound", "false"});
    shard->tls_out_resumed.counter = &r.counter(handshakes, {"outbound", "true"});
    shard->tls_in_failures.counter = &r.counter(tls_failures, {"inbound"});
    shard->tls_out_failures.counter = &r.counter(tls_failures, {"outbound"});
    shard->tls_out_verified.counter = &r.counter(tls_verified);
    shard->tls_fallbacks.counter = &r.counter(tls_fallbacks);
    shard->tls_required_unmet.counter = &r.counter(tls_unmet);
    shard->handed_to_pools.counter = &r.counter(handed);
    shard->dsns.counter = &r.counter(dsns);
    shard->dsn_failures.counter = &r.counter(dsn_failures, {"write"});
    shard->null_sender_failures.counter = &r.counter(dsn_failures, {"null_sender"});
    shard->scheduled = &r.gauge(*scheduled);
    shards_.push_back(std::move(shard));
  }
}

Telemetry::~Telemetry() = default;

void Telemetry::sync(std::uint32_t shard, const ShardCounts& now) {
  MTA_ASSERT(shard < shards_.size());
  Shard& s = *shards_[shard];
  const injection::Probe& in = now.injection;
  const delivery::Probe& out = now.delivery;
  s.received.to(in.messages_queued);
  s.received_bytes.to(in.bytes_queued);
  s.accepted.to(in.connections_accepted);
  s.refused.to(in.connections_refused);
  s.signed_messages.to(in.messages_signed);
  s.signatures.to(in.signatures);
  s.sign_failures.to(in.sign_failures);
  s.injection_store_failures.to(in.store_failures);
  s.tls_in.to(in.tls_sessions - in.tls_resumed);
  s.tls_in_resumed.to(in.tls_resumed);
  s.tls_in_failures.to(in.tls_failures);
  s.delivered.to(out.recipients_delivered);
  s.deferred.to(out.recipients_deferred);
  s.bounced.to(out.recipients_bounced);
  s.transactions.to(out.transactions);
  s.connections_opened.to(out.connections_opened);
  s.connection_failures.to(out.connection_failures);
  s.delivery_store_failures.to(out.store_failures);
  s.tls_out.to(out.tls_sessions - out.tls_resumed);
  s.tls_out_resumed.to(out.tls_resumed);
  s.tls_out_failures.to(out.tls_failures);
  s.tls_out_verified.to(out.tls_verified);
  s.tls_fallbacks.to(out.tls_fallbacks);
  s.tls_required_unmet.to(out.tls_required_unmet);
  s.handed_to_pools.to(out.handed_to_pools);
  s.dsns.to(now.bounce.dsns_queued);
  s.dsn_failures.to(now.bounce.dsn_failures);
  s.null_sender_failures.to(now.bounce.null_sender_failures);
  s.scheduled->set(static_cast<double>(now.parts_scheduled));
}

std::string Telemetry::render() const {
  std::vector<const metrics::Registry*> registries;
  registries.reserve(shards_.size());
  for (const auto& shard : shards_) registries.push_back(&shard->registry);
  std::string body = metrics::render(catalog_, registries);
  (void)metrics::append_process_metrics(body);  // /proc unreadable: the rest still counts
  return body;
}

}  // namespace mta::app
