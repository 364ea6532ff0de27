// The delivery sections of the configuration ([delivery] with its sources and TLS policies,
// [[warmup]], [[shaping]], [[tenant]], the response rules file) turned into what a shard's
// delivery runs on, once at start: the relay's addresses, the sources with their warm-up
// budgets, the shaping rules, the tenants' shared rate caps. Each shard takes a copy of the
// options and adds its own runtime objects (resolver, TLS contexts, router functions).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cluster/fleet.h"
#include "delivery/config.h"
#include "delivery/shard_delivery.h"
#include "dns/config.h"
#include "queue/config.h"
#include "tls/config.h"

namespace mta::delivery {

// What delivery reads from the other sections: the node's name (EHLO, bounces), the TLS
// handshake timeout, the retry schedule, the fleet's expected size, the DNS servers (named in
// the start-up line of MX delivery).
struct OtherSections {
  const std::string& hostname;
  const tls::ServerTlsConfig& tls;
  const queue::QueueConfig& queue;
  const cluster::FleetOptions& cluster;
  const dns::DnsConfig& dns;
};

struct DeliverySettings {
  // Everything from the sections; links.response_rules points at response_rules below once a
  // shard asks for its options, the rest of links and shard_count are the shard's.
  ShardDeliveryOptions options;
  ResponseRules response_rules = ResponseRules::defaults();
  std::string relay_text;                 // "host:port, ..." for the start-up line
  std::vector<std::string> source_pools;  // the pools of the sources: a message may name these

  bool relayed() const {
    return !options.destination.addresses.empty() || !options.destination.smarthosts.hosts.empty();
  }
  // Whether a shard needs its resolvers: MX delivery, or a smarthost named by host name.
  bool needs_dns() const;
  // Where a recipient's mail goes (the destination of its queue entry).
  const Routing& routing() const { return options.routing; }
  // A shard's options: links.response_rules set, nothing else of links.
  ShardDeliveryOptions shard_options(std::uint32_t shard_count) const;
};

// Logs what is wrong and returns nullopt (a relay that is not a numeric host:port, a response
// rules file that does not parse), else logs the route and each source, as at every start.
std::optional<DeliverySettings> load_delivery_settings(const DeliveryConfig& config,
                                                       const OtherSections& others);

// The parts, alone. delivery.relay: one smarthost, or several separated by commas, tried in
// order; nullopt (logged) when one is not a numeric host:port.
std::optional<std::vector<engine::SocketAddress>> parse_relay(const std::string& relay);
// [[delivery.source]] with their [[warmup]] budgets (as of now), each logged.
std::vector<Source> load_sources(const DeliveryConfig& config, const std::string& hostname);
// A smarthost's connection settings over `base` (the defaults): where (numeric addresses, or
// host names to resolve), implicit TLS, AUTH.
DestinationOptions smarthost_options(DestinationOptions base, const SmarthostConfig& smarthost);
// [[route]]s: each its destination and options over `base`, logged.
std::vector<RouteOptions> load_routes(const DeliveryConfig& config, const DestinationOptions& base);
// [[shaping]]: unset values (0) set no limit.
Shaping load_shaping(const std::vector<ShapingRuleConfig>& rules);
// [[tenant]] caps, one shared bucket per cap for the node.
std::vector<TenantLimits> load_tenant_limits(const std::vector<TenantConfig>& tenants);

}  // namespace mta::delivery
