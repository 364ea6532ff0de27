// [dns] of the configuration: the resolver used for MX delivery (when delivery.relay is empty).
// Parsed here through base/config_reader.h; app/ composes the sections.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/config_reader.h"
#include "base/result.h"

namespace mta::dns {

struct DnsConfig {
  std::vector<std::string> servers;                   // "IP[:PORT]"; empty = /etc/resolv.conf
  Clock::Duration timeout = std::chrono::seconds(2);  // per try, doubled each round
  std::uint32_t tries = 2;
  bool prefer_ipv6 = false;
  Clock::Duration ttl_floor = std::chrono::seconds(30);
  Clock::Duration ttl_ceiling = std::chrono::hours(24);
  Clock::Duration negative_ttl = std::chrono::minutes(5);  // NXDOMAIN/NODATA without an SOA
};

Result<void> parse_dns(config::Table& section, DnsConfig& out);

}  // namespace mta::dns
