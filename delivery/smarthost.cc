// Smarthost lists and routes: parsing, matching, resolving.
#include "delivery/smarthost.h"

#include <algorithm>
#include <charconv>
#include <memory>
#include <system_error>
#include <utility>

#include "base/ascii.h"

namespace mta::delivery {
namespace {

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

Unexpected<Error> invalid(std::string_view item, const std::string& why) {
  return unexpected(std::make_error_code(std::errc::invalid_argument),
                    "\"" + std::string(item) + "\" " + why);
}

// A DNS host name: labels of letters, digits and '-', separated by dots, 1 to 253 characters.
bool host_name(std::string_view name) {
  if (name.empty() || name.size() > 253 || name.front() == '.' || name.back() == '.') return false;
  std::size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
  }
  return true;
}

bool numeric_ipv4(std::string_view host) {
  return engine::SocketAddress::parse(std::string(host) + ":1").has_value() &&
         host.find(':') == std::string_view::npos;
}

Result<Smarthost> parse_item(std::string_view item, std::uint16_t default_port) {
  Smarthost out;
  std::string_view host;
  std::string_view port;
  const bool bracketed = !item.empty() && item.front() == '[';
  if (bracketed) {
    const std::size_t close = item.find(']');
    if (close == std::string_view::npos) return invalid(item, "has no closing ']'");
    host = item.substr(1, close - 1);
    const std::string_view rest = item.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return invalid(item, "has text after ']' that is not :port");
      port = rest.substr(1);
    }
  } else {
    const std::size_t colon = item.rfind(':');
    if (colon != std::string_view::npos && item.find(':') != colon) {
      return invalid(item, "is an IPv6 address without brackets: write [address]:port");
    }
    host = item.substr(0, colon);
    if (colon != std::string_view::npos) port = item.substr(colon + 1);
  }
  out.port = default_port;
  if (!port.empty() ||
      (bracketed ? item.back() == ':' : item.find(':') != std::string_view::npos)) {
    unsigned value = 0;
    const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (error != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return invalid(item, "has no valid port (1 to 65535)");
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  const bool ipv6 = host.find(':') != std::string_view::npos;
  if (ipv6 || numeric_ipv4(host)) {
    const std::string text = ipv6 ? "[" + std::string(host) + "]:" + std::to_string(out.port)
                                  : std::string(host) + ":" + std::to_string(out.port);
    auto parsed = engine::SocketAddress::parse(text);
    if (!parsed) return invalid(item, "is not a valid address");
    out.host = std::string(host);
    out.address = *parsed;
    return out;
  }
  if (!host_name(host)) return invalid(item, "is neither a numeric address nor a host name");
  out.host = ascii_lowercase(std::string(host));
  out.mx_lookup = !bracketed;
  return out;
}

}  // namespace

bool SmarthostList::numeric() const {
  return std::all_of(hosts.begin(), hosts.end(),
                     [](const Smarthost& h) { return h.address.has_value(); });
}

std::vector<engine::SocketAddress> SmarthostList::addresses() const {
  std::vector<engine::SocketAddress> out;
  for (const Smarthost& host : hosts) {
    if (host.address) out.push_back(*host.address);
  }
  return out;
}

Result<SmarthostList> parse_smarthosts(std::string_view text) {
  SmarthostList list;
  std::optional<bool> scheme;  // smtps:// or not, the same for every item
  for (std::size_t at = 0; at < text.size();) {
    std::size_t comma = text.find(',', at);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = trimmed(text.substr(at, comma - at));
    at = comma + 1;
    if (item.empty()) return invalid(text, "has an empty item");
    bool implicit = false;
    if (item.starts_with("smtps://")) {
      implicit = true;
      item.remove_prefix(8);
    } else if (item.starts_with("smtp://")) {
      item.remove_prefix(7);
    } else if (item.find("://") != std::string_view::npos) {
      return invalid(item, "names a scheme other than smtp:// or smtps://");
    }
    if (scheme && *scheme != implicit) {
      return invalid(text, "mixes smtps:// with plain items: one list, one way to connect");
    }
    scheme = implicit;
    auto host = parse_item(item, implicit ? 465 : 25);
    if (!host) return unexpected(host.error());
    list.hosts.push_back(std::move(host).value());
  }
  list.implicit_tls = scheme.value_or(false);
  return list;
}

bool valid_route_pattern(std::string_view pattern) {
  if (pattern.starts_with('.')) pattern.remove_prefix(1);
  if (!host_name(pattern)) return false;
  return std::none_of(pattern.begin(), pattern.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

std::optional<std::size_t> match_route(const std::vector<std::string>& patterns,
                                       std::string_view domain) {
  std::optional<std::size_t> best;  // the longest suffix so far
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    const std::string& pattern = patterns[i];
    if (!pattern.starts_with('.')) {
      if (domain == pattern) return i;  // exact beats every suffix
      continue;
    }
    // ".corp.example": subdomains only, so more than the pattern before it.
    if (domain.size() > pattern.size() && domain.ends_with(pattern) &&
        (!best || pattern.size() > patterns[*best].size())) {
      best = i;
    }
  }
  return best;
}

std::string route_destination(std::string_view pattern) {
  return std::string(route_prefix) + std::string(pattern);
}

std::string Routing::destination(std::string_view recipient) const {
  const auto at = recipient.rfind('@');
  std::string domain = ascii_lowercase(
      std::string(at == std::string_view::npos ? recipient : recipient.substr(at + 1)));
  if (!patterns_.empty()) {
    if (auto route = match_route(patterns_, domain)) return route_destination(patterns_[*route]);
  }
  if (relay_) return "relay";
  return domain;
}

namespace {

struct Resolution {
  std::vector<SmarthostRoute> parts;  // one per host
  std::size_t remaining = 0;
  std::function<void(SmarthostRoute)> done;

  void answer(std::size_t index, SmarthostRoute part) {
    parts[index] = std::move(part);
    if (--remaining > 0) return;
    SmarthostRoute all;
    all.ttl = Clock::Duration::max();
    for (SmarthostRoute& one : parts) {
      all.addresses.insert(all.addresses.end(), one.addresses.begin(), one.addresses.end());
      all.names.insert(all.names.end(), one.names.begin(), one.names.end());
      all.ttl = std::min(all.ttl, one.ttl);
      if (all.error.empty()) all.error = one.error;
    }
    if (!all.addresses.empty()) all.error.clear();
    std::function<void(SmarthostRoute)> call = std::move(done);
    call(std::move(all));  // may destroy this (the last reference is the caller's)
  }
};

void add_address(SmarthostRoute& out, const dns::Address& address, std::uint16_t port,
                 const std::string& name) {
  const std::string text = address.family == dns::Family::ipv6
                               ? "[" + address.ip + "]:" + std::to_string(port)
                               : address.ip + ":" + std::to_string(port);
  if (auto parsed = engine::SocketAddress::parse(text)) {
    out.addresses.push_back(*parsed);
    out.names.push_back(name);
  }
}

std::chrono::seconds at_least_a_second(std::chrono::seconds ttl) {
  return std::max(ttl, std::chrono::seconds(1));
}

}  // namespace

void resolve_smarthosts(const SmarthostList& list, dns::MxResolver* mx, dns::Resolver* hosts,
                        std::function<void(SmarthostRoute)> done) {
  auto state = std::make_shared<Resolution>();
  state->parts.resize(list.hosts.size() + 1);
  state->remaining = list.hosts.size() + 1;  // +1: held until every lookup has started
  state->done = std::move(done);
  for (std::size_t i = 0; i < list.hosts.size(); ++i) {
    const Smarthost& host = list.hosts[i];
    if (host.address) {
      SmarthostRoute part;
      part.addresses.push_back(*host.address);
      part.names.push_back({});
      part.ttl = Clock::Duration::max();
      state->answer(i, std::move(part));
    } else if (host.mx_lookup && mx != nullptr) {
      mx->resolve_mx(host.host,
                     [state, i, port = host.port, name = host.host](const dns::MxResult& result) {
                       SmarthostRoute part;
                       part.ttl = at_least_a_second(result.ttl);
                       for (const auto& mx_host : result.hosts) {
                         for (const auto& address : mx_host.addresses) {
                           add_address(part, address, port, mx_host.name);
                         }
                       }
                       if (part.addresses.empty()) part.error = name + ": " + result.reason;
                       state->answer(i, std::move(part));
                     });
    } else if (!host.mx_lookup && hosts != nullptr) {
      hosts->query_addresses(host.host, [state, i, port = host.port,
                                         name = host.host](const dns::AddressAnswer& answer) {
        SmarthostRoute part;
        part.ttl = at_least_a_second(answer.ttl.value_or(std::chrono::seconds(60)));
        for (const auto& address : answer.addresses) add_address(part, address, port, name);
        if (part.addresses.empty()) {
          part.ttl = std::chrono::seconds(30);  // ask again soon
          part.error = name + ": no A/AAAA record (" + std::string(dns::to_string(answer.status)) +
                       (answer.detail.empty() ? "" : ", " + answer.detail) + ")";
        }
        state->answer(i, std::move(part));
      });
    } else {
      SmarthostRoute part;
      part.ttl = std::chrono::seconds(30);
      part.error = host.host + ": no DNS resolver";
      state->answer(i, std::move(part));
    }
  }
  state->answer(list.hosts.size(), {});  // the holder's own part: empty
}

}  // namespace mta::delivery
