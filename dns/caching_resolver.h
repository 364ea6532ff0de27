// CachingResolver: the MxResolver delivery uses, one per shard. It runs the MX lookup and the
// address lookups of the MX hosts on any Resolver (c-ares, or the fake), applies mx.h's rules,
// and keeps both the per-domain decisions and the per-host addresses in TtlCaches, so domains
// that share MX hosts share their address lookups too.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "dns/cache.h"
#include "dns/mx.h"
#include "dns/resolver.h"

namespace mta::dns {

// Lifecycle: created on its shard after `upstream`, destroyed before it; `upstream`, `clock`
// and the caller's callbacks are used on that shard only. A hit answers before resolve_mx
// returns; a miss answers from the upstream's callback. Each answer is a copy with its own
// random order among equal preferences and `ttl` set to the seconds the decision has left.
class CachingResolver final : public MxResolver {
 public:
  CachingResolver(Resolver& upstream, Clock& clock, CacheOptions cache, MxOptions mx,
                  RandomBelow random);
  CachingResolver(const CachingResolver&) = delete;
  CachingResolver& operator=(const CachingResolver&) = delete;

  void resolve_mx(std::string domain, MxCallback done) override;

  std::size_t cached_domains() const { return domains_.size(); }
  std::size_t cached_hosts() const { return hosts_.size(); }
  std::size_t lookups_in_flight() const { return domains_.in_flight() + hosts_.in_flight(); }

 private:
  // A domain between its MX answer and the last address answer of its MX hosts.
  struct Pending {
    MxPlan plan;
    std::vector<AddressAnswer> answers;  // answers[i] for plan.targets[i]
    std::size_t remaining = 0;
  };

  void on_mx_answer(const std::string& domain, const MxAnswer& answer);
  void lookup_host(const std::string& host, TtlCache<AddressAnswer>::Waiter done);
  void on_address_answer(const std::string& host, AddressAnswer answer);
  void on_host_resolved(const std::string& domain, std::size_t index, const AddressAnswer& answer);
  void finish(const std::string& domain, MxResult result);

  Resolver& upstream_;
  Clock& clock_;
  MxOptions mx_options_;
  RandomBelow random_;
  TtlCache<MxResult> domains_;
  TtlCache<AddressAnswer> hosts_;
  std::unordered_map<std::string, Pending> pending_;
};

}  // namespace mta::dns
