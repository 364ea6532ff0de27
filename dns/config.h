// [dns] of the configuration: the resolver used for MX delivery (when delivery.relay is empty),
// read straight into the options of the c-ares resolver, the answer cache and MX ordering.
// Parsed here through base/config_reader.h; app/ composes the sections.
#pragma once

#include "base/config_reader.h"
#include "base/result.h"
#include "dns/ares_resolver.h"
#include "dns/cache.h"
#include "dns/mx.h"

namespace mta::dns {

struct DnsConfig {
  AresOptions resolver;  // servers ("IP[:PORT]"; empty = /etc/resolv.conf), timeout, tries
  CacheOptions cache;    // ttl_floor, ttl_ceiling
  MxOptions mx;          // prefer_ipv6, negative_ttl (NXDOMAIN/NODATA without an SOA)
};

// Durations are cut to the unit each option keeps (timeout: ms; TTLs: s).
Result<void> parse_dns(config::Table& section, DnsConfig& out);

}  // namespace mta::dns
