// TLS's metric families: handshakes completed (resumed or not) and failed, inbound (injection's
// listeners) and outbound (delivery), from the counts each side's probe keeps.
#pragma once

#include <cstdint>

#include "metrics/probe_counters.h"

namespace mta::tls {

class HandshakeMetrics {
 public:
  // One side's handshakes on one shard.
  struct Handshakes {
    std::uint64_t sessions = 0;  // completed
    std::uint64_t resumed = 0;   // of them, resumed sessions
    std::uint64_t failures = 0;  // failed or timed out
  };
  struct Counts {
    Handshakes inbound;
    Handshakes outbound;
  };
  using Shard = metrics::FollowedCounters::Shard;

  explicit HandshakeMetrics(metrics::Catalog& catalog);
  Shard bind(metrics::Registry& registry) const { return counters_.bind(registry); }
  void publish(Shard& shard, const Counts& now) const { counters_.publish(shard, now); }

 private:
  metrics::ProbeCounters<Counts> counters_;
};

}  // namespace mta::tls
