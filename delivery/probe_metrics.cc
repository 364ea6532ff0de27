#include "delivery/probe_metrics.h"

namespace mta::delivery {

using metrics::declare_counter;
using Counts = const ProbeMetrics::Probes&;

ProbeMetrics::ProbeMetrics(metrics::Catalog& catalog, std::size_t destinations_max)
    : destinations_(std::make_unique<metrics::LabelAdmission>(destinations_max, "other")) {
  queue_ = metrics::declare_gauge(
      catalog,
      {"outpost_queue_messages",
       "Queued parts on the delivery schedules, by state: waiting (not due), ready (due, waiting "
       "for a connection), in_flight (in a transaction).",
       {"state"}});
  declare_connections(catalog);
  declare_tls_policy(catalog);
  declare_shaping(catalog);
  declare_dsns(catalog);
  scheduled_ =
      metrics::declare_gauge(catalog, {"outpost_queue_parts_scheduled",
                                       "Queued parts waiting in the shards' delivery schedules.",
                                       {}});
  quarantined_ = metrics::declare_gauge(
      catalog,
      {"outpost_queue_parts_quarantined",
       "Queued parts held by the crash-loop breaker: in flight at 3 crashes of the daemon, not "
       "tried again until an operator retries, deletes or bounces them.",
       {}});
}

ProbeMetrics::~ProbeMetrics() = default;

// Connections open by destination, transactions, connections opened or failed.
void ProbeMetrics::declare_connections(metrics::Catalog& catalog) {
  open_ = metrics::declare_gauge(
      catalog,
      {"outpost_connections_open",
       "Open outbound SMTP connections, by destination (a domain, the relay, or an MX host "
       "set's pool); the first destinations keep their own series.",
       {"destination"}});
  counters_.follow(declare_counter(catalog, {"outpost_delivery_transactions_total",
                                             "SMTP transactions that got a reply.",
                                             {}}),
                   {}, [](Counts n) { return n.delivery.transactions; });
  const auto connections = declare_counter(
      catalog, {"outpost_delivery_connections_total",
                "Outbound connections opened, and those that failed before their session was up.",
                {"result"}});
  counters_.follow(connections, {"opened"}, [](Counts n) { return n.delivery.connections_opened; });
  counters_.follow(connections, {"failed"},
                   [](Counts n) { return n.delivery.connection_failures; });
}

void ProbeMetrics::declare_tls_policy(metrics::Catalog& catalog) {
  counters_.follow(
      declare_counter(catalog, {"outpost_tls_verified_total",
                                "Outbound TLS sessions with a verified chain and host name.",
                                {}}),
      {}, [](Counts n) { return n.delivery.tls_verified; });
  counters_.follow(
      declare_counter(
          catalog, {"outpost_tls_plaintext_fallbacks_total",
                    "Opportunistic TLS that failed: the address is used in plaintext for a while.",
                    {}}),
      {}, [](Counts n) { return n.delivery.tls_fallbacks; });
  counters_.follow(
      declare_counter(catalog, {"outpost_tls_policy_unmet_total",
                                "Connections closed because TLS was required and not offered.",
                                {}}),
      {}, [](Counts n) { return n.delivery.tls_required_unmet; });
}

// Response-driven shaping, and due parts handed from a domain to its MX pool.
void ProbeMetrics::declare_shaping(metrics::Catalog& catalog) {
  const auto shaping = declare_counter(
      catalog, {"outpost_shaping_actions_total",
                "Response-driven shaping: a reply matched a rule and suspended or throttled its "
                "destination; a throttle relaxed a step, or ended.",
                {"action"}});
  counters_.follow(shaping, {"suspend"}, [](Counts n) { return n.delivery.shaping_suspensions; });
  counters_.follow(shaping, {"throttle"}, [](Counts n) { return n.delivery.shaping_throttles; });
  counters_.follow(shaping, {"relax"}, [](Counts n) { return n.delivery.shaping_relaxations; });
  counters_.follow(shaping, {"recover"}, [](Counts n) { return n.delivery.shaping_recoveries; });
  counters_.follow(
      declare_counter(catalog, {"outpost_parts_handed_to_pools_total",
                                "Due parts a domain handed to the pool of its MX host set.",
                                {}}),
      {}, [](Counts n) { return n.delivery.handed_to_pools; });
}

void ProbeMetrics::declare_dsns(metrics::Catalog& catalog) {
  counters_.follow(
      declare_counter(
          catalog,
          {"outpost_dsns_total", "Delivery status notifications (bounces) queued to senders.", {}}),
      {}, [](Counts n) { return n.bounce.dsns_queued; });
  const auto failures =
      declare_counter(catalog, {"outpost_dsn_failures_total",
                                "DSNs that could not be written, or not sent (null sender).",
                                {"reason"}});
  counters_.follow(failures, {"write"}, [](Counts n) { return n.bounce.dsn_failures; });
  counters_.follow(failures, {"null_sender"},
                   [](Counts n) { return n.bounce.null_sender_failures; });
}

ProbeMetrics::Shard ProbeMetrics::bind(metrics::Registry& registry) const {
  Shard shard{.registry = &registry,
              .counters = counters_.bind(registry),
              .queue = {&registry.gauge(queue_, {"waiting"}), &registry.gauge(queue_, {"ready"}),
                        &registry.gauge(queue_, {"in_flight"})},
              .scheduled = &registry.gauge(scheduled_),
              .quarantined = &registry.gauge(quarantined_),
              .open = {},
              .open_now = {}};
  shard.open.assign(destinations_->values_max() + 1, nullptr);
  return shard;
}

void ProbeMetrics::publish(Shard& shard, const Probes& now, const Parts& parts,
                           Connections connections) const {
  counters_.publish(shard.counters, now);
  shard.scheduled->set(static_cast<double>(parts.scheduled));
  shard.quarantined->set(static_cast<double>(parts.quarantined));
  shard.queue[0]->set(static_cast<double>(parts.waiting));
  shard.queue[1]->set(static_cast<double>(parts.ready));
  shard.queue[2]->set(static_cast<double>(parts.in_flight));
  publish_connections(shard, connections);
}

// Every gauge the shard has goes to its count now, zero for destinations with none left.
void ProbeMetrics::publish_connections(Shard& shard, Connections connections) const {
  shard.open_now.assign(shard.open.size(), 0);
  for (const auto& [destination, open] : connections) {
    const std::uint32_t index = destinations_->index_of(destination);
    if (shard.open[index] == nullptr) {
      const std::string_view value = index < destinations_->values_max()
                                         ? destinations_->value(index)
                                         : destinations_->overflow_value();
      shard.open[index] = &shard.registry->gauge(open_, {value});
    }
    shard.open_now[index] += static_cast<double>(open);
  }
  for (std::size_t i = 0; i < shard.open.size(); ++i) {
    if (shard.open[i] != nullptr) shard.open[i]->set(shard.open_now[i]);
  }
}

}  // namespace mta::delivery
