// Pools of MX host sets: domains whose MX records name the same hosts share one dispatcher
// (one set of connections and limits). A domain's dispatcher only routes: what is due goes, as
// a PoolHandoff, to the pool's dispatcher on the shard that owns the pool's name.
#pragma once

#include <string>
#include <vector>

#include "base/clock.h"
#include "delivery/connection_driver.h"
#include "dns/resolver.h"
#include "engine/address.h"
#include "queue/store.h"

namespace mta::delivery {

// A part handed to a pool: its tenant by name, since tenant indices are each shard's own.
struct HandoffPart {
  queue::PartKey key;
  std::string tenant;
  queue::TrafficClass traffic_class = queue::TrafficClass::transactional;
  std::string pool;
};

// Due parts of one domain, handed by the domain's dispatcher to the pool of its MX host set.
struct PoolHandoff {
  std::string pool;                              // pool_name() of the MX host set
  std::vector<engine::SocketAddress> addresses;  // in dialling order, from the domain's answer
  std::vector<std::string> names;                // the MX host of each address
  TlsPolicy tls = TlsPolicy::opportunistic;      // the domain's (part of the pool's name)
  std::string domain;                            // the domain handing off (its limits apply)
  Clock::Duration route_ttl{};                   // how long those addresses may be used
  std::vector<HandoffPart> parts;
};

// "mx:" and the MX host names, sorted and lower-cased: domains whose MX records name the same
// hosts (whatever their preferences) share one pool.
std::string pool_name(const dns::MxResult& result);
// The pool a domain under `tls` hands off to: domains share a pool only under the same TLS
// policy, since it decides how the pool connects (";tls=" and the policy unless opportunistic).
std::string pool_name(const dns::MxResult& result, TlsPolicy tls);

}  // namespace mta::delivery
