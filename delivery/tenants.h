// Tenants on the delivery side of one shard: their names interned to small indices (what the
// schedule's tags and the ready queues hold), the source pools by index, and the [[tenant]]
// rate caps, node-wide: one SharedRate each that every shard takes from without a lock (a
// tenant's mail to one destination is delivered by the one shard that owns it, so a split of
// the cap across shards would hold it to a fraction).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "delivery/ready_queue.h"
#include "delivery/shaping.h"
#include "queue/envelope.h"

namespace mta::delivery {

// A [[tenant]] entry's delivery side: its caps for the whole node (0 = none).
struct TenantLimits {
  std::string name;
  double messages_per_second = 0;
  double messages_per_hour = 0;
  // The caps' buckets, made by shared_rates() once for the node and given to every shard.
  std::shared_ptr<SharedRate> per_second;
  std::shared_ptr<SharedRate> per_hour;
};
// Makes the node-wide buckets of every tenant's caps.
void make_shared_rates(std::vector<TenantLimits>& tenants);

// One shard's; used on its thread only.
class Tenants {
 public:
  // Interned names beyond this share one index (their fair share and no cap): tenant names
  // come from message headers, so their number must not grow the shard's memory unbounded.
  static constexpr std::size_t names_max = 10'000;
  static constexpr TenantIndex overflow = 1;

  Tenants();

  // At most this many source pools (the tag has 7 bits for one).
  static constexpr std::size_t pools_max = 127;

  // The caps of the configured tenants (make_shared_rates() made their buckets; without them a
  // shard makes its own, at the full cap).
  void configure(std::vector<TenantLimits> tenants);
  // The source pools ([[delivery.source]] pool), the same list on every shard: pool i is
  // index i + 1 (0: none named). At most pools_max.
  void configure_pools(const std::vector<std::string>& pools);
  // "" or a pool not configured (a spool from another configuration): 0, any source.
  PoolIndex pool_index(std::string_view pool) const;
  const std::string& pool_name(PoolIndex index) const;

  TenantIndex intern(std::string_view name);  // "" = 0
  const std::string& name(TenantIndex index) const;

  // Whether a part of `tenant` may start now (no cap, or a token left).
  bool may_send(TenantIndex tenant, Clock::TimePoint now);
  // Spends the token of a part that starts.
  void sent(TenantIndex tenant, Clock::TimePoint now);
  // When `tenant` may send again (now when it may).
  Clock::TimePoint next_at(TenantIndex tenant, Clock::TimePoint now);

  // The tag a queue::Schedule entry carries for a part: tenant (24 bits, names_max fits),
  // pool (7 bits) and class (1 bit).
  static std::uint32_t tag(TenantIndex tenant, queue::TrafficClass traffic_class,
                           PoolIndex pool = 0) {
    return (tenant << 8U) | ((pool & 0x7fU) << 1U) |
           (traffic_class == queue::TrafficClass::bulk ? 1U : 0U);
  }
  static ReadyPart from_tag(queue::PartKey key, std::uint32_t tag) {
    return ReadyPart{.key = key,
                     .tenant = tag >> 8U,
                     .traffic_class = (tag & 1U) != 0 ? queue::TrafficClass::bulk
                                                      : queue::TrafficClass::transactional,
                     .pool = (tag >> 1U) & 0x7fU};
  }
  std::uint32_t tag_of(std::string_view tenant, queue::TrafficClass traffic_class,
                       std::string_view pool) {
    return tag(intern(tenant), traffic_class, pool_index(pool));
  }

 private:
  std::vector<std::string> names_;  // by index: "" (untagged), "(other)" (overflow), ...
  std::unordered_map<std::string, TenantIndex> index_of_;
  std::unordered_map<TenantIndex, TenantLimits> caps_;  // configured tenants with a cap
  std::vector<std::string> pools_;                      // by index: "" (none), then configured
};

}  // namespace mta::delivery
