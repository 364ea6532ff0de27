#include "cluster/fleet_metrics.h"

namespace mta::cluster {

FleetMetrics::FleetMetrics(metrics::Catalog& catalog) {
  using C = const Fleet::Counters&;
  const auto syncs = metrics::declare_counter(
      catalog, {"outpost_fleet_syncs_total",
                "Fleet mode: exchanges of this node's claims and shares with Redis, by result.",
                {"result"}});
  counters_.follow(syncs, {"ok"}, [](C n) { return n.syncs - n.failures; });
  counters_.follow(syncs, {"failed"}, [](C n) { return n.failures; });
  counters_.follow(
      metrics::declare_counter(
          catalog, {"outpost_fleet_outages_total",
                    "Fleet mode: times Redis stopped answering (local limits until it did again).",
                    {}}),
      {}, [](C n) { return n.outages; });
  redis_up_ = metrics::declare_gauge(
      catalog,
      {"outpost_fleet_redis_up", "Fleet mode: 1 while Redis answers, 0 when it does not.", {}});
  nodes_ = metrics::declare_gauge(
      catalog,
      {"outpost_fleet_nodes", "Fleet mode: live nodes at the last exchange with Redis.", {}});
}

FleetMetrics::Shard FleetMetrics::bind(metrics::Registry& registry) const {
  return {.counters = counters_.bind(registry),
          .redis_up = &registry.gauge(redis_up_),
          .nodes = &registry.gauge(nodes_)};
}

void FleetMetrics::publish(Shard& shard, const Fleet::Counters& now, bool on) const {
  counters_.publish(shard.counters, now);
  shard.redis_up->set(on && now.connected ? 1 : 0);
  shard.nodes->set(on && now.connected ? now.nodes : 0);
}

}  // namespace mta::cluster
