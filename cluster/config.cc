#include "cluster/config.h"

#include <chrono>

namespace mta::cluster {

Result<void> parse_cluster(config::Table& section, FleetOptions& out) {
  CONFIG_TRY(section.string("redis", out.redis));
  CONFIG_TRY(section.string("node", out.node));
  CONFIG_TRY(section.string("prefix", out.prefix));
  CONFIG_TRY(section.duration("sync_interval", out.sync_interval));
  CONFIG_TRY(section.duration("lease_ttl", out.lease_ttl));
  CONFIG_TRY(section.duration("timeout", out.timeout));
  CONFIG_TRY(section.integer("nodes_expected", out.nodes_expected, 1, 10'000));
  CONFIG_TRY(section.no_unknown_keys());
  if (out.sync_interval < std::chrono::milliseconds(50) || out.lease_ttl < 2 * out.sync_interval) {
    return section.error(
        "sync_interval",
        "cluster.sync_interval must be at least 50ms and cluster.lease_ttl at least twice it");
  }
  if (out.prefix.empty() || out.node.find(' ') != std::string::npos) {
    return section.error(out.prefix.empty() ? "prefix" : "node",
                         "cluster.prefix must not be empty, cluster.node must have no spaces");
  }
  return {};
}

}  // namespace mta::cluster
