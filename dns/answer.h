// Raw answers of the two lookups delivery needs (MX of a domain; A and AAAA of a host) as the
// resolver adapters hand them over: status, records and the TTL that bounds their validity.
// Turning them into a delivery decision is mx.h's job; caching them is cache.h's.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mta::dns {

enum class Family : std::uint8_t { ipv4, ipv6 };

// An IP address as text ("192.0.2.1", "2001:db8::1"). The port is delivery's business.
struct Address {
  Family family = Family::ipv4;
  std::string ip;

  friend bool operator==(const Address&, const Address&) = default;
};

// How a query ended. nodata is NOERROR with no record of the asked type (RFC 2308 §2.2).
// timeout also covers "no server reachable"; error is everything else (a malformed answer).
enum class QueryStatus : std::uint8_t { ok, nxdomain, nodata, servfail, refused, timeout, error };

std::string_view to_string(QueryStatus status);

struct MxRecord {
  std::string host;  // the exchange, without the trailing dot; "" is the null MX target "."
  std::uint16_t preference = 0;

  friend bool operator==(const MxRecord&, const MxRecord&) = default;
};

// ttl: for ok, the smallest TTL of the answer section (the MX records and any CNAME leading to
// them); for nxdomain and nodata, the negative TTL of RFC 2308 §5 (min of the SOA's TTL and its
// MINIMUM field) when the server sent the SOA. nullopt when unknown: the caller's default
// applies.
struct MxAnswer {
  QueryStatus status = QueryStatus::error;
  std::vector<MxRecord> records;
  std::optional<std::chrono::seconds> ttl;
  std::string detail;  // for humans: the resolver's message on failure
};

// The A and AAAA records of one host, CNAMEs followed. ttl as for MxAnswer.
struct AddressAnswer {
  QueryStatus status = QueryStatus::error;
  std::vector<Address> addresses;
  std::optional<std::chrono::seconds> ttl;
  std::string detail;
};

// Lower case without the trailing dot: the form names are compared and cached in. DNS names
// compare case-insensitively (RFC 4343).
std::string normalize_name(std::string_view name);

}  // namespace mta::dns
