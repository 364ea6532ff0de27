// `outpost dns mx DOMAIN`: prints what delivery would do for a domain, through the same
// c-ares adapter, MX rules and cache code the daemon uses (driven here by a plain poll loop,
// not the shard ring): the hosts with preference and addresses in dialling order and the TTL,
// or the bounce/defer decision with its status code.
// Exit codes: 0 a decision was printed (deliver, bounce or defer), 2 usage or resolver error.
#include "app/dns_command.h"

#include <chrono>
#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/duration.h"
#include "delivery/dispatcher.h"
#include "dns/ares_resolver.h"
#include "dns/caching_resolver.h"
#include "proto/http/json.h"

namespace mta::app {
namespace {

constexpr int exit_ok = 0;
constexpr int exit_usage = 2;

constexpr std::string_view dns_usage = R"(Usage: outpost dns mx DOMAIN [OPTIONS]

Resolves DOMAIN the way delivery does (RFC 5321 section 5.1, null MX per RFC 7505) and prints
the MX hosts by preference (random order among equal preferences) with their addresses in
dialling order and the TTL, or the decision: bounce (5.1.10 null MX, 5.1.2 no such domain,
5.4.4 no MX and no address) or defer (4.4.3 SERVFAIL, REFUSED, timeout).

Options:
  --server IP[:PORT]  ask this DNS server (repeatable; default: /etc/resolv.conf)
  --prefer-ipv6       dial each host's IPv6 addresses first (default: IPv4 first)
  --timeout D         per-try timeout, 1ms to 60s (default 2s; 2 tries); a bare number is
                      milliseconds, as it was before this option took 500ms or 2s
  --json              print one JSON object instead of text
)";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "outpost dns: %s\n%s", message.c_str(), dns_usage.data());
  return exit_usage;
}

void print_text(const std::string& domain, const dns::MxResult& result) {
  if (result.kind != dns::MxResult::deliver) {
    std::printf("%s: %s %s (ttl %llds): %s\n", domain.c_str(),
                std::string(dns::to_string(result.kind)).c_str(), result.status.c_str(),
                static_cast<long long>(result.ttl.count()), result.reason.c_str());
    return;
  }
  std::printf("%s: deliver (ttl %llds) pool %s\n", domain.c_str(),
              static_cast<long long>(result.ttl.count()), delivery::pool_name(result).c_str());
  for (const dns::MxHost& host : result.hosts) {
    std::printf("  %5u %s", static_cast<unsigned>(host.preference), host.name.c_str());
    for (const dns::Address& address : host.addresses) std::printf(" %s", address.ip.c_str());
    std::printf("\n");
  }
}

void print_json(const std::string& domain, const dns::MxResult& result) {
  http::JsonWriter out;
  out.begin_object();
  out.key("domain");
  out.value(domain);
  out.key("decision");
  out.value(dns::to_string(result.kind));
  out.key("status");
  out.value(result.status);
  out.key("reason");
  out.value(result.reason);
  if (result.kind == dns::MxResult::deliver) {
    out.key("pool");  // the connections this domain shares with others of the same MX hosts
    out.value(delivery::pool_name(result));
  }
  out.key("ttl");
  out.value(static_cast<std::int64_t>(result.ttl.count()));
  out.key("hosts");
  out.begin_array();
  for (const dns::MxHost& host : result.hosts) {
    out.begin_object();
    out.key("preference");
    out.value(static_cast<unsigned>(host.preference));
    out.key("name");
    out.value(host.name);
    out.key("addresses");
    out.begin_array();
    for (const dns::Address& address : host.addresses) out.value(address.ip);
    out.end_array();
    out.end_object();
  }
  out.end_array();
  out.end_object();
  std::printf("%s\n", out.str().c_str());
}

}  // namespace

int dns_command(std::span<const std::string_view> args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(dns_usage.data(), args.empty() ? stderr : stdout);
    return args.empty() ? exit_usage : exit_ok;
  }
  if (args[0] != "mx") return usage_error("unknown subcommand " + std::string(args[0]));
  std::string domain;
  dns::AresOptions ares_options;
  dns::MxOptions mx_options;
  bool json = false;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(dns_usage.data(), stdout);
      return exit_ok;
    }
    if (arg == "--server" && i + 1 < args.size()) {
      ares_options.servers.emplace_back(args[++i]);
    } else if (arg == "--timeout" && i + 1 < args.size()) {
      const auto timeout = parse_duration_option(args[++i], std::chrono::milliseconds(1));
      if (!timeout || *timeout < std::chrono::milliseconds(1) ||
          *timeout > std::chrono::seconds(60)) {
        return usage_error("--timeout takes a duration from 1ms to 60s, e.g. 500ms or 2s");
      }
      ares_options.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*timeout);
    } else if (arg == "--prefer-ipv6") {
      mx_options.prefer_ipv6 = true;
    } else if (arg == "--json") {
      json = true;
    } else if (!arg.starts_with("-") && domain.empty()) {
      domain = std::string(arg);
    } else {
      return usage_error("unexpected argument " + std::string(arg));
    }
  }
  if (domain.empty()) return usage_error("mx needs a DOMAIN");

  auto ares = dns::AresResolver::create(ares_options);
  if (!ares) {
    std::fprintf(stderr, "outpost dns: %s\n", ares.error().message().c_str());
    return exit_usage;
  }
  RealClock clock;
  std::random_device seed;
  // The daemon's cache options: the printed TTL is how long delivery would keep the answer.
  dns::CachingResolver resolver(**ares, clock, dns::CacheOptions{}, mx_options,
                                dns::seeded_random((std::uint64_t{seed()} << 32) | seed()));
  std::optional<dns::MxResult> result;
  resolver.resolve_mx(domain, [&result](dns::MxResult r) { result = std::move(r); });
  // c-ares gives up after its own tries; the limit only guards against a resolver bug.
  const auto limit = ares_options.timeout * (ares_options.tries + 1) * 4 + std::chrono::seconds(5);
  const auto ran = dns::run_blocking_until(
      **ares, [&result] { return result.has_value(); }, limit);
  if (!result) {
    std::fprintf(stderr, "outpost dns: %s\n", ran ? "no answer" : ran.error().message().c_str());
    return exit_usage;
  }
  const std::string shown = dns::normalize_name(domain);
  if (json) {
    print_json(shown, *result);
  } else {
    print_text(shown, *result);
  }
  return exit_ok;
}

}  // namespace mta::app
