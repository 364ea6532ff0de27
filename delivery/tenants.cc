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

void make_shared_rates(std::vector<TenantLimits>& tenants) {
  for (TenantLimits& tenant : tenants) {
    if (tenant.messages_per_second > 0 && tenant.per_second == nullptr) {
      tenant.per_second =
          std::make_shared<SharedRate>(tenant.messages_per_second, std::chrono::seconds(1));
    }
    if (tenant.messages_per_hour > 0 && tenant.per_hour == nullptr) {
      tenant.per_hour =
          std::make_shared<SharedRate>(tenant.messages_per_hour, std::chrono::hours(1));
    }
  }
}

void Tenants::configure(std::vector<TenantLimits> tenants) {
  make_shared_rates(tenants);
  for (TenantLimits& tenant : tenants) {
    if (tenant.per_second == nullptr && tenant.per_hour == nullptr) continue;
    const TenantIndex index = intern(tenant.name);
    caps_.insert_or_assign(index, std::move(tenant));
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
  return next_at(tenant, now) <= now;
}

void Tenants::sent(TenantIndex tenant, Clock::TimePoint now) {
  if (tenant == 0) return;
  if (const auto found = caps_.find(tenant); found != caps_.end()) {
    // Another shard may have taken the last token since may_send: the message goes anyway
    // (one over the cap at most per shard), the bucket's debt makes the next ones wait.
    for (SharedRate* rate : {found->second.per_second.get(), found->second.per_hour.get()}) {
      if (rate != nullptr) (void)rate->take(now);
    }
  }
}

Clock::TimePoint Tenants::next_at(TenantIndex tenant, Clock::TimePoint now) {
  if (tenant == 0) return now;
  const auto found = caps_.find(tenant);
  if (found == caps_.end()) return now;
  Clock::TimePoint at = now;
  for (const SharedRate* rate : {found->second.per_second.get(), found->second.per_hour.get()}) {
    if (rate != nullptr) at = std::max(at, rate->next_at(now));
  }
  return at;
}

}  // namespace mta::delivery
