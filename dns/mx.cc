// MX decision rules: RFC 5321 §5.1 (preference order, random among equals, implicit MX),
// RFC 7505 (null MX), RFC 3463 status codes for the bounce and defer outcomes.
#include "dns/mx.h"

#include <algorithm>
#include <cctype>
#include <memory>
#include <random>
#include <unordered_set>
#include <utility>

#include "base/assert.h"

namespace mta::dns {
namespace {

MxResult decided(MxResult::Kind kind, std::string status, std::string reason,
                 std::chrono::seconds ttl) {
  MxResult result;
  result.kind = kind;
  result.status = std::move(status);
  result.reason = std::move(reason);
  result.ttl = ttl;
  return result;
}

bool temporary(QueryStatus status) {
  return status == QueryStatus::servfail || status == QueryStatus::refused ||
         status == QueryStatus::timeout || status == QueryStatus::error;
}

std::string failure_text(QueryStatus status, const std::string& detail) {
  std::string text(to_string(status));
  if (!detail.empty()) text += " (" + detail + ")";
  return text;
}

}  // namespace

std::string_view to_string(QueryStatus status) {
  switch (status) {
    case QueryStatus::ok:
      return "ok";
    case QueryStatus::nxdomain:
      return "NXDOMAIN";
    case QueryStatus::nodata:
      return "NODATA";
    case QueryStatus::servfail:
      return "SERVFAIL";
    case QueryStatus::refused:
      return "REFUSED";
    case QueryStatus::timeout:
      return "timeout";
    case QueryStatus::error:
      return "error";
  }
  return "error";
}

std::string_view to_string(MxResult::Kind kind) {
  switch (kind) {
    case MxResult::deliver:
      return "deliver";
    case MxResult::bounce:
      return "bounce";
    case MxResult::defer:
      return "defer";
  }
  return "defer";
}

std::string normalize_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::string out(name);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

RandomBelow seeded_random(std::uint64_t seed) {
  // shared_ptr: std::function must be copyable and the copies share one generator state.
  auto engine = std::make_shared<std::mt19937_64>(seed);
  return [engine](std::uint32_t bound) {
    return std::uniform_int_distribution<std::uint32_t>(0, bound - 1)(*engine);
  };
}

MxPlan plan_mx(std::string_view domain, const MxAnswer& answer, const MxOptions& options) {
  MxPlan plan;
  const std::chrono::seconds negative = answer.ttl.value_or(options.negative_ttl);
  switch (answer.status) {
    case QueryStatus::nxdomain:
      plan.decided = true;
      plan.result =
          decided(MxResult::bounce, "5.1.2",
                  "domain " + std::string(domain) + " does not exist (NXDOMAIN)", negative);
      return plan;
    case QueryStatus::servfail:
    case QueryStatus::refused:
    case QueryStatus::timeout:
    case QueryStatus::error:
      plan.decided = true;
      plan.result = decided(MxResult::defer, "4.4.3",
                            "MX lookup for " + std::string(domain) +
                                " failed: " + failure_text(answer.status, answer.detail),
                            options.failure_ttl);
      return plan;
    case QueryStatus::nodata:
    case QueryStatus::ok:
      break;
  }
  if (answer.status == QueryStatus::nodata || answer.records.empty()) {
    // RFC 5321 §5.1: "If an empty list of MXs is returned, the address is treated as if it
    // was associated with an implicit MX RR, with a preference of 0, pointing to that host."
    plan.implicit = true;
    plan.targets.push_back(MxRecord{normalize_name(domain), 0});
    plan.mx_ttl = negative;
    return plan;
  }
  plan.mx_ttl = answer.ttl.value_or(options.negative_ttl);
  // RFC 7505 §3: a null MX is a single MX with the exchange "." (preference 0 by convention;
  // any preference is accepted here). A domain must not mix it with other MX records; when one
  // does anyway, the "." entry is skipped as a host that resolves to nothing.
  const bool all_null =
      std::all_of(answer.records.begin(), answer.records.end(),
                  [](const MxRecord& r) { return normalize_name(r.host).empty(); });
  if (all_null) {
    plan.decided = true;
    plan.result = decided(
        MxResult::bounce, "5.1.10",
        "domain " + std::string(domain) + " does not accept mail (null MX, RFC 7505)", plan.mx_ttl);
    return plan;
  }
  std::vector<MxRecord> sorted = answer.records;
  std::stable_sort(sorted.begin(), sorted.end(), [](const MxRecord& a, const MxRecord& b) {
    return a.preference < b.preference;
  });
  std::unordered_set<std::string> seen;
  for (MxRecord& record : sorted) {
    std::string host = normalize_name(record.host);
    if (host.empty() || !seen.insert(host).second) continue;  // a host listed twice: best wins
    plan.targets.push_back(MxRecord{std::move(host), record.preference});
  }
  return plan;
}

MxResult finish_mx(const MxPlan& plan, std::span<const AddressAnswer> addresses,
                   const MxOptions& options) {
  if (plan.decided) return plan.result;
  MTA_ASSERT(addresses.size() == plan.targets.size());
  const Family first = options.prefer_ipv6 ? Family::ipv6 : Family::ipv4;
  MxResult result;
  result.kind = MxResult::deliver;
  std::chrono::seconds ttl = plan.mx_ttl;
  bool any_temporary = false;
  std::string last_failure;
  for (std::size_t i = 0; i < plan.targets.size(); ++i) {
    const AddressAnswer& answer = addresses[i];
    const MxRecord& target = plan.targets[i];
    ttl = std::min(ttl, answer.ttl.value_or(temporary(answer.status) ? options.failure_ttl
                                                                     : options.negative_ttl));
    if (answer.status != QueryStatus::ok || answer.addresses.empty()) {
      // RFC 5321 §5.1: an MX host without addresses is skipped, the next one is tried.
      any_temporary = any_temporary || temporary(answer.status);
      last_failure = target.host + ": " + failure_text(answer.status, answer.detail);
      continue;
    }
    MxHost host{target.host, target.preference, answer.addresses};
    std::stable_partition(host.addresses.begin(), host.addresses.end(),
                          [first](const Address& a) { return a.family == first; });
    result.hosts.push_back(std::move(host));
  }
  result.ttl = ttl;
  if (!result.hosts.empty()) return result;

  result.kind = plan.implicit && !any_temporary ? MxResult::bounce : MxResult::defer;
  if (result.kind == MxResult::bounce) {
    // The domain exists (no NXDOMAIN) but names no mail host and has no address: there is no
    // route, now or on retry until the zone changes (RFC 3463 X.4.4, unable to route).
    result.status = "5.4.4";
    result.reason = "domain " + plan.targets.front().host + " has neither MX nor A/AAAA records";
  } else {
    result.status = "4.4.3";
    result.reason = plan.implicit ? "address lookup failed: " + last_failure
                                  : "no MX host has an address; last: " + last_failure;
    if (any_temporary) result.ttl = std::min(result.ttl, options.failure_ttl);
  }
  return result;
}

void shuffle_equal_preference(std::vector<MxHost>& hosts, const RandomBelow& random) {
  std::size_t begin = 0;
  while (begin < hosts.size()) {
    std::size_t end = begin + 1;
    while (end < hosts.size() && hosts[end].preference == hosts[begin].preference) ++end;
    // Fisher-Yates over [begin, end).
    for (std::size_t i = end - begin; i > 1; --i) {
      const std::size_t j = random(static_cast<std::uint32_t>(i));
      std::swap(hosts[begin + i - 1], hosts[begin + j]);
    }
    begin = end;
  }
}

}  // namespace mta::dns
