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
  std::uint64_t store_failures = 0;
  std::uint64_t handed_to_pools = 0;  // due parts a domain gave to its MX host set's pool
};

}  // namespace mta::delivery
