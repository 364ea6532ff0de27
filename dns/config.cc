#include "dns/config.h"

namespace mta::dns {

Result<void> parse_dns(config::Table& section, DnsConfig& out) {
  CONFIG_TRY(section.string_list("servers", out.servers));
  CONFIG_TRY(section.duration("timeout", out.timeout));
  CONFIG_TRY(section.integer("tries", out.tries, 1, 10));
  CONFIG_TRY(section.boolean("prefer_ipv6", out.prefer_ipv6));
  CONFIG_TRY(section.duration("ttl_floor", out.ttl_floor));
  CONFIG_TRY(section.duration("ttl_ceiling", out.ttl_ceiling));
  CONFIG_TRY(section.duration("negative_ttl", out.negative_ttl));
  return section.no_unknown_keys();
}

}  // namespace mta::dns
