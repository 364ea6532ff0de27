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
  if (out.sync_interval < std::chrono::milliseconds(50)) {
    return section.error("sync_interval", "must be at least 50ms");
  }
  if (out.lease_ttl < 2 * out.sync_interval) {
    return section.error("lease_ttl", "must be at least twice cluster.sync_interval");
  }
  if (out.prefix.empty()) return section.error("prefix", "must not be empty");
  if (out.node.find(' ') != std::string::npos) {
    return section.error("node", "must have no spaces");
  }
  return {};
}

}  // namespace mta::cluster
