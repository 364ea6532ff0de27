#include "dns/config.h"

#include <chrono>

#include "base/clock.h"

namespace mta::dns {
namespace {

// A duration key into an option of a coarser unit, truncated as the daemon always did.
template <typename Unit>
Result<void> read_duration(config::Table& section, std::string_view key, Unit& out) {
  Clock::Duration value = out;
  CONFIG_TRY(section.duration(key, value));
  out = std::chrono::duration_cast<Unit>(value);
  return {};
}

}  // namespace

Result<void> parse_dns(config::Table& section, DnsConfig& out) {
  CONFIG_TRY(section.string_list("servers", out.resolver.servers));
  CONFIG_TRY(read_duration(section, "timeout", out.resolver.timeout));
  CONFIG_TRY(section.integer("tries", out.resolver.tries, 1, 10));
  CONFIG_TRY(section.boolean("prefer_ipv6", out.mx.prefer_ipv6));
  CONFIG_TRY(read_duration(section, "ttl_floor", out.cache.ttl_floor));
  CONFIG_TRY(read_duration(section, "ttl_ceiling", out.cache.ttl_ceiling));
  CONFIG_TRY(read_duration(section, "negative_ttl", out.mx.negative_ttl));
  return section.no_unknown_keys();
}

}  // namespace mta::dns
