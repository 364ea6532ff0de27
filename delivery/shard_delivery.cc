// ShardDelivery: routes parts to per-destination dispatchers, created on first use.
#include "delivery/shard_delivery.h"

#include <algorithm>
#include <cctype>
#include <utility>

namespace mta::delivery {

std::string route(std::string_view recipient, bool relay) {
  if (relay) return std::string(relay_destination);
  const auto at = recipient.rfind('@');
  std::string domain(at == std::string_view::npos ? recipient : recipient.substr(at + 1));
  std::transform(domain.begin(), domain.end(), domain.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return domain;
}

ShardDelivery::ShardDelivery(engine::Shard& shard, queue::Store& store,
                             queue::MessageIdGenerator& ids, ShardDeliveryOptions options,
                             QueuedFn on_bounce_queued, CommitFn commit)
    : options_(std::move(options)),
      bouncer_(
          shard, store, ids, options_.bounce,
          [routing = options_.routing](std::string_view r) { return routing.destination(r); },
          std::move(on_bounce_queued), std::move(commit)),
      context_{.shard = shard,
               .store = store,
               .bouncer = bouncer_,
               .links = options_.links,
               .on_outcome = {},
               .random = std::mt19937_64(std::random_device{}()),
               .probe = {},
               .tenants = {}} {
  fleet_standing_.nodes = std::max<std::uint32_t>(1, options_.fleet_nodes_expected);
  context_.tenants.configure(options_.tenants);
  std::vector<std::string> pools;
  for (const Source& source : options_.destination.sources) pools.push_back(source.pool);
  context_.tenants.configure_pools(pools);
}

Dispatcher& ShardDelivery::dispatcher_for(const std::string& destination) {
  auto found = dispatchers_.find(destination);
  if (found != dispatchers_.end()) return *found->second;
  DestinationOptions options = options_.destination;
  const auto route =
      std::find_if(options_.routes.begin(), options_.routes.end(),
                   [&](const RouteOptions& r) { return r.destination == destination; });
  if (destination == relay_destination) {
    options.limits = options.limits.per_shard(options_.shard_count);
  } else if (route != options_.routes.end()) {
    options = route->options;  // its own smarthost, owned by one shard like a domain
  } else if (destination.starts_with(route_prefix)) {
    // A route's parts from before the route was removed from the configuration: no route.
    options.addresses.clear();
    options.smarthosts = {};
  } else {
    options.limits = options_.shaping.limits_for(options.limits, destination, {});
    options.addresses.clear();
    options.mx = true;
    if (auto policy = options_.tls_policies.find(destination);
        policy != options_.tls_policies.end()) {
      options.tls = policy->second;
    }
  }
  auto [inserted, ok] = dispatchers_.emplace(
      destination, std::make_unique<Dispatcher>(context_, destination, std::move(options)));
  if (options_.fleet && !inserted->second->routes_only()) {
    inserted->second->set_fleet_limits(fleet_limits(*inserted->second, nullptr));
  }
  if (auto suspended = suspended_.find(destination); suspended != suspended_.end()) {
    inserted->second->suspend(suspended->second);
  }
  return *inserted->second;
}

void ShardDelivery::suspend(const std::string& destination, Clock::WallTime until) {
  std::erase_if(suspended_, [this](const auto& entry) {
    return entry.second <= context_.shard.clock().wall_now();
  });
  suspended_[destination] = until;
  if (auto found = dispatchers_.find(destination); found != dispatchers_.end()) {
    found->second->suspend(until);
  }
}

bool ShardDelivery::resume(const std::string& destination) {
  const bool was = suspended_.erase(destination) > 0;
  if (auto found = dispatchers_.find(destination); found != dispatchers_.end()) {
    const bool active = found->second->suspended_until().has_value();
    found->second->resume();
    return was || active;
  }
  return was;
}

Limits ShardDelivery::node_limits(const Dispatcher& dispatcher) const {
  // The relay's own limits are this shard's share; the fleet splits the node's.
  return dispatcher.destination() == relay_destination ? options_.destination.limits
                                                       : dispatcher.limits();
}

Limits ShardDelivery::fleet_limits(const Dispatcher& dispatcher,
                                   const cluster::Grant* grant) const {
  const std::uint32_t spread =
      dispatcher.destination() == relay_destination ? options_.shard_count : 1;
  return fleet_share_for(node_limits(dispatcher), grant, fleet_standing_, spread);
}

std::vector<cluster::Claim> ShardDelivery::fleet_claims() {
  std::vector<cluster::Claim> claims;
  std::unordered_set<std::string> claimed;
  for (const auto& [name, dispatcher] : dispatchers_) {
    if (dispatcher->routes_only()) continue;
    const std::size_t limit = node_limits(*dispatcher).connections_max;
    const std::size_t wanted = dispatcher->take_connections_wanted(limit);
    // What it may have open until it hears back: its connections, or the share in force if
    // more (it may open up to that before this claim's answer arrives).
    const std::size_t held =
        std::max(dispatcher->connection_count(),
                 std::min(limit, dispatcher->effective_limits().connections_max));
    if (wanted == 0 && held == 0 && !fleet_claimed_.contains(name)) continue;
    claims.push_back(
        cluster::Claim{.key = name,
                       .limit = limit == Limits::unlimited ? cluster::Claim::unlimited : limit,
                       .want = wanted,
                       .held = held});
    if (wanted > 0 || held > 0) claimed.insert(name);
  }
  fleet_claimed_ = std::move(claimed);
  return claims;
}

void ShardDelivery::apply_fleet(const cluster::Standing& standing) {
  fleet_standing_.connected = standing.connected;
  fleet_standing_.nodes = standing.nodes;
  for (const auto& [name, dispatcher] : dispatchers_) {
    if (dispatcher->routes_only()) continue;
    const auto grant = standing.grants.find(name);
    dispatcher->set_fleet_limits(fleet_limits(
        *dispatcher,
        standing.connected && grant != standing.grants.end() ? &grant->second : nullptr));
  }
}

void ShardDelivery::add(const queue::ScheduledItem& item) {
  dispatcher_for(item.destination)
      .add(item.key, item.due, context_.tenants.tag_of(item.tenant, item.traffic_class, item.pool));
}

void ShardDelivery::receive(PoolHandoff&& handoff) {
  // The pool's limits: the defaults tightened by the rules for its MX hosts and for every
  // domain that has handed off to it.
  const Limits& defaults = options_.destination.limits;
  const Limits wanted = options_.shaping.empty()
                            ? defaults
                            : options_.shaping.limits_for(defaults, handoff.domain, handoff.names);
  auto found = dispatchers_.find(handoff.pool);
  if (found != dispatchers_.end()) {
    Limits tighter = found->second->limits();
    tighter.tighten(wanted);
    found->second->set_limits(tighter);
  } else {
    DestinationOptions options = options_.destination;
    options.limits = wanted;
    options.addresses.clear();  // the hand-off brings them
    options.mx = false;
    options.pool = true;
    options.tls = handoff.tls;
    found = dispatchers_
                .emplace(handoff.pool,
                         std::make_unique<Dispatcher>(context_, handoff.pool, std::move(options)))
                .first;
    pools_.push_back(found->second.get());
    if (options_.fleet) found->second->set_fleet_limits(fleet_limits(*found->second, nullptr));
  }
  found->second->receive(std::move(handoff));
}

std::vector<ActionResult> ShardDelivery::apply(OperatorAction action,
                                               const std::vector<queue::ScheduledItem>& parts) {
  std::vector<ActionResult> results;
  results.reserve(parts.size());
  for (const auto& part : parts) {
    const auto found = dispatchers_.find(part.destination);
    results.push_back(found == dispatchers_.end() ? ActionResult::not_found
                                                  : found->second->apply(action, part.key));
  }
  return results;
}

std::vector<ActionResult> ShardDelivery::apply_in_pools(
    OperatorAction action, const std::vector<queue::ScheduledItem>& parts) {
  // A part spends only its attempt at a pool, so few are asked for here: a scan per part is
  // cheap next to the attempt itself.
  std::vector<ActionResult> results(parts.size(), ActionResult::not_found);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    for (Dispatcher* pool : pools_) {
      results[i] = pool->apply(action, parts[i].key);
      if (results[i] != ActionResult::not_found) break;
    }
  }
  return results;
}

Result<std::uint64_t> ShardDelivery::recover(
    const std::function<bool(const queue::ScheduledItem&)>& owns) {
  std::uint64_t recovered = 0;
  auto scanned = context_.store.for_each_scheduled([&](queue::ScheduledItem&& item) {
    if (owns(item)) {
      ++recovered;
      add(item);
    }
    return true;
  });
  if (!scanned) return unexpected(scanned.error());
  return recovered;
}

std::size_t ShardDelivery::scheduled_count() const {
  std::size_t count = 0;
  for (const auto& [name, dispatcher] : dispatchers_) count += dispatcher->scheduled_count();
  return count;
}

}  // namespace mta::delivery
