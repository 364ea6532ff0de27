// What the dispatchers of one shard share: the shard, the queue's store, the bouncer, the links
// out of delivery that app/ gives (resolver, hooks, TLS contexts, response rules, the
// crash-loop breaker's table), the outcome hook, tenants and the counters.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "delivery/bouncer.h"
#include "delivery/outcome.h"
#include "delivery/pool_handoff.h"
#include "delivery/probe.h"
#include "delivery/response_rules.h"
#include "delivery/tenants.h"
#include "dns/resolver.h"
#include "engine/shard.h"
#include "queue/inflight_table.h"
#include "queue/store.h"
#include "tls/context.h"

namespace mta::delivery {

using SuppressedFn = std::function<std::optional<std::string>(std::string_view address)>;

// What a shard's delivery reaches outside itself: the MX resolver, the hooks app/ sets
// (hand-off to pools, requeue, suppression), the TLS client contexts, the response rules and
// the crash-loop breaker's table. Given once in ShardDeliveryOptions::links; the dispatchers
// read them there, through DispatchContext::links.
struct DispatchLinks {
  // MX resolution for domain destinations (the shard's cache); nullptr = no MX delivery.
  dns::MxResolver* resolver = nullptr;
  // A and AAAA of smarthosts named in brackets ([smtp.example.net]:587); nullptr: none.
  dns::Resolver* hosts = nullptr;
  std::uint16_t remote_port = 25;  // dialled on MX hosts
  // Set by app/ to share connections between domains with the same MX hosts: moves a hand-off
  // to the shard that owns the pool. Unset, each domain delivers from its own dispatcher.
  std::function<void(PoolHandoff&&)> hand_off;
  // A part a pool deferred goes back to the shard that owns its domain.
  std::function<void(const queue::ScheduledItem&)> requeue;
  // The shard's outbound TLS contexts: without verification (opportunistic, required) and
  // verifying (verify). nullptr: STARTTLS is never used (required/verify then always defer).
  tls::ClientContext* tls_client = nullptr;
  tls::ClientContext* tls_verify = nullptr;
  // The suppression list (app/ passes the mailbox's, which every shard may read): why a
  // recipient must not be mailed, or nullopt. Unset: nobody is suppressed.
  SuppressedFn suppressed;
  // Replies that make a destination back off (suspend, throttle); nullptr: none do.
  const ResponseRules* response_rules = nullptr;
  // The crash-loop breaker's marks (queue/inflight_table.h): each connection marks the part it
  // attempts in a slot of its own. nullptr: attempts are not marked.
  queue::InFlightTable* in_flight = nullptr;
};

struct DispatchContext {
  engine::Shard& shard;
  queue::Store& store;
  Bouncer& bouncer;
  const DispatchLinks& links;  // the ShardDeliveryOptions' own
  // Told every recipient outcome as it is recorded (the delivery log, per-destination
  // metrics); unset: nobody is told.
  OutcomeFn on_outcome;
  std::mt19937_64 random;
  Probe probe;
  // Tenant names and [[tenant]] rate caps of this shard (every destination's parts count).
  Tenants tenants;
};

}  // namespace mta::delivery
