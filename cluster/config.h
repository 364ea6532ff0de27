// [cluster] of the configuration, read straight into cluster::FleetOptions (cluster/fleet.h):
// fleet mode shares each destination's connections and rates with the other nodes through one
// Redis server; an empty redis = this node alone. Parsed through base/config_reader.h.
#pragma once

#include "base/config_reader.h"
#include "base/result.h"
#include "cluster/fleet.h"

namespace mta::cluster {

// `node` stays empty when not set: the daemon then uses this machine's name (gethostname).
Result<void> parse_cluster(config::Table& section, FleetOptions& out);

}  // namespace mta::cluster
