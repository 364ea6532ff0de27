// Phase: where the shards report: metrics, the status board, the delivery log, and in fleet
// mode the fleet's shared limits.
#include <unistd.h>

#include "app/daemon/daemon.h"
#include "base/log.h"

namespace mta::app {
namespace {

// This machine's (or pod's) name, fleet mode's default node name: unlike node.hostname, the
// EHLO name every node of a fleet may share, it tells the nodes apart.
std::string machine_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "outpost";
  return name;
}

std::unique_ptr<cluster::Fleet> start_fleet(const Config& config, std::uint32_t shard_count,
                                            const std::vector<delivery::Source>& sources) {
  auto fleet = std::make_unique<cluster::Fleet>(
      cluster::FleetOptions{
          .redis = config.cluster.redis,
          .node = config.cluster.node.empty() ? machine_name() : config.cluster.node,
          .prefix = config.cluster.prefix,
          .sync_interval = config.cluster.sync_interval,
          .lease_ttl = config.cluster.lease_ttl,
          .timeout = config.cluster.timeout,
          .nodes_expected = config.cluster.nodes_expected},
      shard_count);
  // Warm-up counts are the fleet's, kept in Redis for the day: a cap holds across nodes
  // sending from one address and across a restart.
  for (const delivery::Source& source : sources) {
    if (source.budget == nullptr) continue;
    fleet->add_daily_count(cluster::DailyCount{
        .key = "warmup:" + source.address.host(),
        .local = [budget = source.budget](std::int64_t day) { return budget->used_on(day); },
        .add = [budget = source.budget](std::int64_t day,
                                        std::uint64_t more) { budget->add_used(day, more); }});
  }
  fleet->start();
  log::info("fleet: node " + fleet->options().node + ", limits shared through redis " +
            config.cluster.redis);
  return fleet;
}

}  // namespace

bool Daemon::start_reporting() {
  reporting_ = std::make_unique<Reporting>(shard_count_, config_.metrics.destinations_max);
  if (!config_.log.delivery_log.empty()) {
    auto opened = metrics::LineLog::open(config_.log.delivery_log, shard_count_);
    if (!opened) {
      log::error("log.delivery_log: " + opened.error().message());
      return false;
    }
    reporting_->delivery_log = std::move(opened).value();
    reporting_->log_writer =
        std::make_unique<delivery::DeliveryLogWriter>(*reporting_->delivery_log);
  }
  if (!config_.cluster.redis.empty()) {
    reporting_->fleet =
        start_fleet(config_, shard_count_, settings_->delivery.options.destination.sources);
  }
  status_base_ = StatusInfo{.version = OUTPOST_VERSION,
                            .node = config_.node.hostname,
                            .started_at = std::chrono::system_clock::now(),
                            .shards = shard_count_};
  return true;
}

}  // namespace mta::app
