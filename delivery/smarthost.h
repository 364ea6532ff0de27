// Smarthosts and routes: where `[delivery] relay` and each `[[route]]` send their mail, parsed
// from their text, matched against a recipient domain, and resolved to addresses through the
// shard's resolvers. Parsing and matching are pure; resolve_smarthosts() asks DNS.
//
// A smarthost list is one or more items separated by commas, tried in that order:
//   192.0.2.1:25, [2001:db8::1]:25   numeric: used as given, no lookup (port required)
//   [smtp.example.net]:587           a host name in brackets: its A/AAAA records, no MX lookup
//   smtp.example.net:587             a bare host name: its MX records, as Postfix's relayhost
//                                    (the MX hosts on that port); without MX records the name's
//                                    own A/AAAA (RFC 5321 §5.1)
//   smtps://[smtp.example.net]:465   any of these behind smtps://: TLS from the first byte
// A missing port is 25 (465 after smtps://). Every item of one list shares one scheme.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "dns/resolver.h"
#include "engine/address.h"

namespace mta::delivery {

struct Smarthost {
  std::string host;  // the name, or the numeric address as written (without brackets)
  std::uint16_t port = 25;
  bool mx_lookup = false;                        // a bare name: MX first
  std::optional<engine::SocketAddress> address;  // numeric: no lookup at all

  friend bool operator==(const Smarthost&, const Smarthost&) = default;
};

struct SmarthostList {
  std::vector<Smarthost> hosts;
  bool implicit_tls = false;  // smtps://

  bool numeric() const;                                  // every host numeric: no DNS needed
  std::vector<engine::SocketAddress> addresses() const;  // of the numeric ones, in order
};

// nullopt-free: the error's message says what is wrong with which item, for the config's
// error(). Empty text: an empty list.
Result<SmarthostList> parse_smarthosts(std::string_view text);

// "corp.example" (that domain only) or ".corp.example" (every subdomain of it, not the domain
// itself), lower-cased; false for anything else.
bool valid_route_pattern(std::string_view pattern);
// The index of the pattern that matches `domain` (lower-cased) most specifically: an exact
// domain before any suffix, a longer suffix before a shorter one. nullopt: none matches.
std::optional<std::size_t> match_route(const std::vector<std::string>& patterns,
                                       std::string_view domain);

// The destination name of a route's mail: its own queue and pool of connections.
std::string route_destination(std::string_view pattern);
inline constexpr std::string_view route_prefix = "route:";

// Where a recipient's mail goes: a route's destination, else "relay" with a relay, else the
// recipient's domain, lower-cased.
class Routing {
 public:
  Routing() = default;
  Routing(std::vector<std::string> patterns, bool relay)
      : patterns_(std::move(patterns)), relay_(relay) {}

  std::string destination(std::string_view recipient) const;
  const std::vector<std::string>& patterns() const { return patterns_; }

 private:
  std::vector<std::string> patterns_;
  bool relay_ = false;
};

// The addresses of a smarthost list, in its order (each host's addresses in the order DNS
// gave them, MX hosts by preference), with the host name of each (SNI, verification, the log)
// and how long they may be used.
struct SmarthostRoute {
  std::vector<engine::SocketAddress> addresses;
  std::vector<std::string> names;
  Clock::Duration ttl = std::chrono::minutes(5);
  std::string error;  // no address at all: why (the first failed lookup)
};

// Resolves every host of `list` (numeric ones as they are) and calls `done` once, on the
// resolvers' shard, when the last answer is in. `mx` for bare names, `hosts` for bracketed
// ones; a lookup that needs a missing resolver fails that host.
void resolve_smarthosts(const SmarthostList& list, dns::MxResolver* mx, dns::Resolver* hosts,
                        std::function<void(SmarthostRoute)> done);

}  // namespace mta::delivery
