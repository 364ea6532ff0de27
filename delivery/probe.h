// Counters of the delivery path on one shard; read on the owning shard (metrics/ renders
// them later).
#pragma once

#include <cstdint>

namespace mta::delivery {

struct Probe {
  std::uint64_t connections_opened = 0;
  std::uint64_t connection_failures = 0;
  std::uint64_t transactions = 0;
  std::uint64_t recipients_delivered = 0;
  std::uint64_t recipients_deferred = 0;
  std::uint64_t recipients_bounced = 0;
  std::uint64_t recipients_suppressed = 0;  // on the suppression list: never attempted
  std::uint64_t store_failures = 0;
  std::uint64_t handed_to_pools = 0;     // due parts a domain gave to its MX host set's pool
  std::uint64_t tls_sessions = 0;        // STARTTLS handshakes completed
  std::uint64_t tls_resumed = 0;         // of them, resumed from a cached session
  std::uint64_t tls_verified = 0;        // of them, with a verified chain and name
  std::uint64_t tls_failures = 0;        // handshakes failed
  std::uint64_t tls_fallbacks = 0;       // opportunistic: the address goes plaintext for a while
  std::uint64_t tls_required_unmet = 0;  // required/verify, but no STARTTLS offered or accepted
  // Response-driven shaping: a reply matched a rule and the destination was suspended or
  // throttled; a throttle relaxed a step, or ended.
  std::uint64_t shaping_suspensions = 0;
  std::uint64_t shaping_throttles = 0;
  std::uint64_t shaping_relaxations = 0;
  std::uint64_t shaping_recoveries = 0;
};

}  // namespace mta::delivery
