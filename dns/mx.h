// The RFC 5321 §5.1 and RFC 7505 rules that turn raw MX and address answers into what delivery
// does: dial these hosts in this order, bounce now, or defer. Pure: no I/O, no clock; the
// random order among equal preferences comes from an injected source.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dns/answer.h"

namespace mta::dns {

// One host to dial, its addresses in dialling order.
struct MxHost {
  std::string name;
  std::uint16_t preference = 0;
  std::vector<Address> addresses;

  friend bool operator==(const MxHost&, const MxHost&) = default;
};

// What delivery does for a domain. deliver: `hosts` in dialling order (never empty). bounce:
// status "5.1.10" (null MX), "5.1.2" (NXDOMAIN) or "5.4.4" (neither MX nor address records).
// defer: status "4.4.3" (SERVFAIL, REFUSED, timeout, or no MX host resolved). `ttl` is how
// long the decision stays valid (the smallest TTL it was built from).
struct MxResult {
  enum Kind : std::uint8_t { deliver, bounce, defer };

  Kind kind = defer;
  std::string status;  // RFC 3463 enhanced status code; empty for deliver
  std::string reason;  // for the DSN and the log
  std::vector<MxHost> hosts;
  std::chrono::seconds ttl{0};
};

std::string_view to_string(MxResult::Kind kind);

struct MxOptions {
  // Each host's IPv6 addresses before its IPv4 ones. Off by default: large receivers hold
  // IPv6 senders to stricter rules (PTR, authentication), so IPv4 is the safer first try.
  bool prefer_ipv6 = false;
  // TTL of nxdomain/nodata answers that came without an SOA (RFC 2308 §5 needs the SOA).
  std::chrono::seconds negative_ttl{300};
  // How long a defer decision (SERVFAIL, timeout) is reused: short, so one failing domain
  // costs one query per interval instead of one per message (RFC 2308 §7.1 allows 5 min).
  std::chrono::seconds failure_ttl{30};
};

// Returns a number in [0, bound); bound > 0.
using RandomBelow = std::function<std::uint32_t(std::uint32_t bound)>;
// A deterministic source (std::mt19937_64) for tests and benchmarks; seed it from
// std::random_device in production.
RandomBelow seeded_random(std::uint64_t seed);

// First step: what the MX answer alone decides. Either `decided` (bounce or defer), or the
// `targets` whose addresses must be looked up, best preference first (equal preferences in
// answer order, duplicates dropped). A domain without MX records gets its implicit MX: itself
// at preference 0 (RFC 5321 §5.1), with implicit = true.
struct MxPlan {
  bool decided = false;
  MxResult result;  // when decided
  std::vector<MxRecord> targets;
  bool implicit = false;
  std::chrono::seconds mx_ttl{0};  // bounds the final decision
};
MxPlan plan_mx(std::string_view domain, const MxAnswer& answer, const MxOptions& options);

// Second step: `addresses[i]` is the answer for `plan.targets[i]`. Targets that resolve to
// nothing are skipped; each remaining host's addresses are ordered by family preference.
// Hosts keep their preference order; call shuffle_equal_preference for each use.
MxResult finish_mx(const MxPlan& plan, std::span<const AddressAnswer> addresses,
                   const MxOptions& options);

// Random order among hosts of equal preference (RFC 5321 §5.1: "randomize them to spread the
// load"). `hosts` must be sorted by preference, as finish_mx leaves them.
void shuffle_equal_preference(std::vector<MxHost>& hosts, const RandomBelow& random);

}  // namespace mta::dns
