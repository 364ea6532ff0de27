// The injection path's metric families: messages and bytes accepted, refusals, authentication,
// inbound SMTP connections and sessions, DKIM signing. Declared on the daemon's Catalog once;
// each shard publishes its SMTP and HTTP listeners' probes (probe.h) into its Registry.
#pragma once

#include "injection/probe.h"
#include "metrics/probe_counters.h"

namespace mta::injection {

class ProbeMetrics {
 public:
  // What one shard's listeners counted.
  struct Probes {
    const Probe& smtp;  // SMTP submission
    const Probe& http;  // the HTTP injection API
  };
  // One shard's handles.
  struct Shard {
    metrics::FollowedCounters::Shard counters;
    metrics::Histogram* session_seconds;  // for Probe::session_seconds
    metrics::Histogram* sign_seconds;     // for Probe::sign_seconds (SMTP and HTTP alike)
  };

  explicit ProbeMetrics(metrics::Catalog& catalog);
  Shard bind(metrics::Registry& registry) const;
  void publish(Shard& shard, const Probes& now) const { counters_.publish(shard.counters, now); }

 private:
  void declare_acceptance(metrics::Catalog& catalog);
  void declare_signing(metrics::Catalog& catalog);

  metrics::ProbeCounters<Probes> counters_;
  metrics::HistogramFamily session_seconds_{};
  metrics::HistogramFamily sign_seconds_{};
};

}  // namespace mta::injection
