// CachingResolver: MX lookup -> address lookups of the MX hosts -> decision, each step cached
// and coalesced.
#include "dns/caching_resolver.h"

#include <utility>

namespace mta::dns {
namespace {

bool temporary(QueryStatus status) {
  return status != QueryStatus::ok && status != QueryStatus::nxdomain &&
         status != QueryStatus::nodata;
}

}  // namespace

CachingResolver::CachingResolver(Resolver& upstream, Clock& clock, CacheOptions cache, MxOptions mx,
                                 RandomBelow random)
    : upstream_(upstream),
      clock_(clock),
      mx_options_(mx),
      random_(std::move(random)),
      domains_(cache),
      hosts_(cache) {}

void CachingResolver::resolve_mx(std::string domain, MxCallback done) {
  const std::string key = normalize_name(domain);
  if (key.empty()) {
    MxResult result;
    result.kind = MxResult::bounce;
    result.status = "5.1.2";
    result.reason = "empty domain";
    done(std::move(result));
    return;
  }
  std::chrono::seconds remaining{0};
  if (const MxResult* cached = domains_.find(key, clock_.now(), &remaining)) {
    MxResult copy = *cached;
    copy.ttl = remaining;
    shuffle_equal_preference(copy.hosts, random_);
    done(std::move(copy));
    return;
  }
  auto waiter = [this, done = std::move(done)](const MxResult& result, std::chrono::seconds ttl) {
    MxResult copy = result;
    copy.ttl = ttl;
    shuffle_equal_preference(copy.hosts, random_);
    done(std::move(copy));
  };
  if (!domains_.wait(key, std::move(waiter))) return;  // joined the lookup in flight
  upstream_.query_mx(key, [this, key](MxAnswer answer) { on_mx_answer(key, answer); });
}

void CachingResolver::on_mx_answer(const std::string& domain, const MxAnswer& answer) {
  MxPlan plan = plan_mx(domain, answer, mx_options_);
  if (plan.decided) {
    finish(domain, std::move(plan.result));
    return;
  }
  // Host answers may arrive before lookup_host returns (cache hit, fake resolver), so the
  // pending entry is complete before the first lookup, and the loop reads only its own copy
  // of the targets: the last answer erases the entry.
  const std::vector<MxRecord> targets = plan.targets;
  Pending& pending = pending_[domain];
  pending.answers.assign(targets.size(), AddressAnswer{});
  pending.remaining = targets.size();
  pending.plan = std::move(plan);
  for (std::size_t i = 0; i < targets.size(); ++i) {
    lookup_host(targets[i].host,
                [this, domain, i](const AddressAnswer& host_answer, std::chrono::seconds) {
                  on_host_resolved(domain, i, host_answer);
                });
  }
}

void CachingResolver::lookup_host(const std::string& host, TtlCache<AddressAnswer>::Waiter done) {
  std::chrono::seconds remaining{0};
  if (const AddressAnswer* cached = hosts_.find(host, clock_.now(), &remaining)) {
    AddressAnswer copy = *cached;
    copy.ttl = remaining;
    done(copy, remaining);
    return;
  }
  if (!hosts_.wait(host, std::move(done))) return;
  upstream_.query_addresses(
      host, [this, host](AddressAnswer answer) { on_address_answer(host, answer); });
}

void CachingResolver::on_address_answer(const std::string& host, AddressAnswer answer) {
  const bool failed = temporary(answer.status);
  if (!answer.ttl.has_value()) {
    answer.ttl = failed ? mx_options_.failure_ttl : mx_options_.negative_ttl;
  }
  const TtlKind kind = failed ? TtlKind::failure : TtlKind::answer;
  const auto waiters = hosts_.complete(host, answer, *answer.ttl, kind, clock_.now());
  for (const auto& waiter : waiters) waiter(answer, *answer.ttl);
}

void CachingResolver::on_host_resolved(const std::string& domain, std::size_t index,
                                       const AddressAnswer& answer) {
  const auto it = pending_.find(domain);
  MTA_ASSERT(it != pending_.end());
  Pending& pending = it->second;
  MTA_ASSERT(index < pending.answers.size());
  MTA_ASSERT(pending.remaining > 0);
  pending.answers[index] = answer;
  if (--pending.remaining > 0) return;
  MxResult result = finish_mx(pending.plan, pending.answers, mx_options_);
  pending_.erase(it);
  finish(domain, std::move(result));
}

void CachingResolver::finish(const std::string& domain, MxResult result) {
  const TtlKind kind = result.kind == MxResult::defer ? TtlKind::failure : TtlKind::answer;
  const std::chrono::seconds kept = clamp_ttl(result.ttl, kind, domains_.options());
  const auto waiters = domains_.complete(domain, result, result.ttl, kind, clock_.now());
  for (const auto& waiter : waiters) waiter(result, kept);
}

}  // namespace mta::dns
