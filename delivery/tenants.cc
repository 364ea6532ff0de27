// Tenants: an append-only name table and a token bucket pair per capped tenant.
#include "delivery/tenants.h"

namespace mta::delivery {

Tenants::Tenants() : names_{"", "(other)"}, pools_{""} {}

void Tenants::configure_pools(const std::vector<std::string>& pools) {
  pools_ = {""};
  for (const std::string& pool : pools) {
    if (pools_.size() > pools_max) break;
    if (pool_index(pool) == 0 && !pool.empty()) pools_.push_back(pool);
  }
}

PoolIndex Tenants::pool_index(std::string_view pool) const {
  for (std::size_t i = 1; i < pools_.size(); ++i) {
    if (pools_[i] == pool) return static_cast<PoolIndex>(i);
  }
  return 0;
}

const std::string& Tenants::pool_name(PoolIndex index) const {
  return index < pools_.size() ? pools_[index] : pools_[0];
}

void Tenants::configure(const std::vector<TenantLimits>& tenants, std::uint32_t shard_count,
                        Clock::TimePoint now) {
  for (const TenantLimits& tenant : tenants) {
    const Limits limits = Limits{.messages_per_second = tenant.messages_per_second,
                                 .messages_per_hour = tenant.messages_per_hour}
                              .per_shard(shard_count);
    if (limits.messages_per_second <= 0 && limits.messages_per_hour <= 0) continue;
    caps_.insert_or_assign(intern(tenant.name), RateGate(limits, now));
  }
}

TenantIndex Tenants::intern(std::string_view name) {
  if (name.empty()) return 0;
  const std::string key(name);
  if (const auto found = index_of_.find(key); found != index_of_.end()) return found->second;
  if (names_.size() >= names_max) return overflow;
  const auto index = static_cast<TenantIndex>(names_.size());
  names_.push_back(key);
  index_of_.emplace(key, index);
  return index;
}

const std::string& Tenants::name(TenantIndex index) const {
  return index < names_.size() ? names_[index] : names_[overflow];
}

bool Tenants::may_send(TenantIndex tenant, Clock::TimePoint now) {
  if (tenant == 0) return true;
  const auto found = caps_.find(tenant);
  return found == caps_.end() || found->second.message_at(now) <= now;
}

void Tenants::sent(TenantIndex tenant, Clock::TimePoint now) {
  if (tenant == 0) return;
  if (const auto found = caps_.find(tenant); found != caps_.end()) {
    (void)found->second.take_message(now);
  }
}

Clock::TimePoint Tenants::next_at(TenantIndex tenant, Clock::TimePoint now) {
  const auto found = caps_.find(tenant);
  return found == caps_.end() ? now : found->second.message_at(now);
}

}  // namespace mta::delivery
