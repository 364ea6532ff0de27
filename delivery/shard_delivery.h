// The delivery side of one shard: the dispatchers of the destinations this shard owns, the
// bouncer, and start-up recovery from the queue's schedule index. Parts reach it by add(),
// from injection on any shard (through the engine's cross-shard channels) or from recovery.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cluster/fleet.h"
#include "delivery/bouncer.h"
#include "delivery/dispatcher.h"
#include "delivery/operator_action.h"
#include "engine/shard.h"
#include "queue/message_id.h"
#include "queue/store.h"

namespace mta::delivery {

// Destination names: "relay" when every message goes to the smarthost, else the recipient's
// domain, lower-cased (its dispatcher resolves the MX hosts and hands off to their pool).
inline constexpr std::string_view relay_destination = "relay";
std::string route(std::string_view recipient, bool relay);

// A [[route]]: the destination its domains' mail goes to ("route:" and its pattern), with its
// own smarthost, TLS and AUTH; the rest of its options are the defaults'.
struct RouteOptions {
  std::string destination;
  DestinationOptions options;
};

struct ShardDeliveryOptions {
  DestinationOptions destination;  // addresses or smarthosts: the relay, when there is one
  // Where each recipient's mail goes: a route's destination, the relay, or its domain.
  Routing routing;
  std::vector<RouteOptions> routes;
  BounceOptions bounce;
  // The resolver, hooks and contexts the dispatchers use (DispatchContext::links).
  DispatchLinks links;
  // STARTTLS: destination.tls for every destination but the domains named here.
  std::map<std::string, TlsPolicy> tls_policies;
  // [[shaping]] rules over destination.limits; the relay, which every shard delivers to, gets
  // its 1/shard_count share of the node's limits.
  Shaping shaping;
  std::uint32_t shard_count = 1;
  // Fleet mode ([cluster] redis): connections and rates shared with the other nodes through
  // fleet_claims() and apply_fleet(); until the first standing, local limits for a fleet of
  // fleet_nodes_expected.
  bool fleet = false;
  std::uint32_t fleet_nodes_expected = 1;
  // [[tenant]] rate caps for the whole node; each shard takes its 1/shard_count share.
  std::vector<TenantLimits> tenants;
};

// One per shard, used on its thread.
class ShardDelivery {
 public:
  using QueuedFn = Bouncer::QueuedFn;
  using CommitFn = Bouncer::CommitFn;

  ShardDelivery(engine::Shard& shard, queue::Store& store, queue::MessageIdGenerator& ids,
                ShardDeliveryOptions options, QueuedFn on_bounce_queued, CommitFn commit);
  // The dispatchers hold its context, which refers to its options: it stays where it is.
  ShardDelivery(const ShardDelivery&) = delete;
  ShardDelivery& operator=(const ShardDelivery&) = delete;

  void add(const queue::ScheduledItem& item);
  // Due parts for a pool this shard owns (from a domain's dispatcher on any shard).
  void receive(PoolHandoff&& handoff);
  // An operator action on parts of destinations this shard owns (item.due is ignored), one
  // result per part. A part that is not waiting at its domain may be at a pool, on any shard:
  // apply_in_pools looks there.
  std::vector<ActionResult> apply(OperatorAction action,
                                  const std::vector<queue::ScheduledItem>& parts);
  std::vector<ActionResult> apply_in_pools(OperatorAction action,
                                           const std::vector<queue::ScheduledItem>& parts);
  // Start-up: every part in the schedule index that `owns` accepts (app/ decides by destination
  // and, for the relay, by the shard that accepted the message).
  Result<std::uint64_t> recover(const std::function<bool(const queue::ScheduledItem&)>& owns);

  // Suspends (until `until`) or resumes the destination of that name on this shard: its
  // dispatcher now, and one created later while the suspension lasts. False from resume when
  // it was not suspended here.
  void suspend(const std::string& destination, Clock::WallTime until);
  bool resume(const std::string& destination);
  // Every destination of this shard (domains, the relay, pools), for the status page.
  template <typename Fn>
  void for_each_dispatcher(Fn&& fn) const {
    for (const auto& [name, dispatcher] : dispatchers_) fn(*dispatcher);
  }
  void set_on_outcome(OutcomeFn on_outcome) { context_.on_outcome = std::move(on_outcome); }

  // Fleet mode: a claim for every destination that holds connections here (the relay, pools,
  // a domain that delivers itself) and wants or holds some, or did at the last claim (so its
  // lease ends), against its node-wide limit.
  std::vector<cluster::Claim> fleet_claims();
  // The fleet's answer. Redis answering: each destination's own limits with the connections
  // granted and 1/holders of each rate (none granted yet: no connection). Not answering: the
  // local limits, 1/nodes of its own (the relay's split across shards too).
  void apply_fleet(const cluster::Standing& standing);

  const Probe& probe() const { return context_.probe; }
  const BounceProbe& bounce_probe() const { return bouncer_.probe(); }
  std::size_t scheduled_count() const;

 private:
  Dispatcher& dispatcher_for(const std::string& destination);

  ShardDeliveryOptions options_;
  Bouncer bouncer_;
  DispatchContext context_;
  std::unordered_map<std::string, std::unique_ptr<Dispatcher>> dispatchers_;  // by destination
  std::vector<Dispatcher*> pools_;                              // the pool dispatchers among them
  std::unordered_map<std::string, Clock::WallTime> suspended_;  // by destination
  // Fleet mode: the node-wide limits of a destination, and what it is given before a grant.
  Limits node_limits(const Dispatcher& dispatcher) const;
  Limits fleet_limits(const Dispatcher& dispatcher, const cluster::Grant* grant) const;
  cluster::Standing fleet_standing_;               // the last (grants unused)
  std::unordered_set<std::string> fleet_claimed_;  // destinations claimed last time
};

}  // namespace mta::delivery
