// The delivery path's metric families: transactions, outbound connections (opened and open, by
// destination), TLS policy, response-driven shaping, hand-offs to pools, DSNs, and the queued
// parts on the shard's schedules. Declared on the daemon's Catalog once; each shard publishes
// its dispatchers' probe (probe.h), its bouncer's (bouncer.h) and its schedule counts.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "delivery/bouncer.h"
#include "delivery/probe.h"
#include "metrics/probe_counters.h"

namespace mta::delivery {

class ProbeMetrics {
 public:
  struct Probes {
    const Probe& delivery;
    const BounceProbe& bounce;
  };
  // Queued parts of one shard by where they are.
  struct Parts {
    std::uint64_t scheduled = 0;    // waiting in the shard's dispatchers
    std::uint64_t waiting = 0;      // not due yet
    std::uint64_t ready = 0;        // due, waiting for a connection
    std::uint64_t in_flight = 0;    // in a transaction
    std::uint64_t quarantined = 0;  // held by the crash-loop breaker (in waiting too)
  };
  // Open outbound connections by destination (dispatcher name), those with any.
  using Connections = std::span<const std::pair<std::string, std::size_t>>;
  struct Shard;

  // destinations_max: destinations with a connections gauge of their own (the rest: "other").
  ProbeMetrics(metrics::Catalog& catalog, std::size_t destinations_max);
  ~ProbeMetrics();
  Shard bind(metrics::Registry& registry) const;
  void publish(Shard& shard, const Probes& now, const Parts& parts, Connections connections) const;

 private:
  void declare_connections(metrics::Catalog& catalog);
  void declare_tls_policy(metrics::Catalog& catalog);
  void declare_shaping(metrics::Catalog& catalog);
  void declare_dsns(metrics::Catalog& catalog);
  void publish_connections(Shard& shard, Connections connections) const;

  metrics::ProbeCounters<Probes> counters_;
  metrics::GaugeFamily queue_{};
  metrics::GaugeFamily open_{};
  metrics::GaugeFamily scheduled_{};
  metrics::GaugeFamily quarantined_{};
  // Shared by every shard (thread-safe): which destinations keep a gauge of their own.
  std::unique_ptr<metrics::LabelAdmission> destinations_;
};

struct ProbeMetrics::Shard {
  metrics::Registry* registry;
  metrics::FollowedCounters::Shard counters;
  std::array<metrics::Gauge*, 3> queue;  // waiting, ready, in_flight
  metrics::Gauge* scheduled;
  metrics::Gauge* quarantined;
  // Open connections by the admission index of their destination, created when first used.
  std::vector<metrics::Gauge*> open;
  std::vector<double> open_now;  // scratch for publish()
};

}  // namespace mta::delivery
