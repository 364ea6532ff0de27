#include "delivery/outcome_metrics.h"

#include <chrono>
#include <optional>
#include <string_view>

#include "metrics/buckets.h"

namespace mta::delivery {
namespace {

// The index of a state in OutcomeMetrics::Shard's arrays; nullopt for pending.
std::optional<std::size_t> result_index(queue::RecipientState state) {
  switch (state) {
    case queue::RecipientState::delivered:
      return 0;
    case queue::RecipientState::deferred:
      return 1;
    case queue::RecipientState::bounced:
      return 2;
    case queue::RecipientState::suppressed:
      return 3;
    case queue::RecipientState::pending:
      break;
  }
  return std::nullopt;
}

}  // namespace

OutcomeMetrics::OutcomeMetrics(metrics::Catalog& catalog, std::size_t destinations_max,
                               std::size_t tenants_max) {
  by_destination_ = metrics::declare_bounded_counter(
      catalog,
      {"outpost_deliveries_total",
       "Recipient outcomes of delivery attempts (delivered, deferred, bounced or suppressed), by "
       "destination: the first destinations seen keep their own series, the rest count as "
       "\"other\".",
       {"result"}},
      {.name = "destination", .values_max = destinations_max, .overflow_value = "other"});
  by_tenant_ = metrics::declare_bounded_counter(
      catalog,
      {"outpost_tenant_deliveries_total",
       "Recipient outcomes of delivery attempts, as outpost_deliveries_total, by tenant "
       "(X-Outpost-Tenant; \"(none)\" for untagged mail): the first tenants seen keep their own "
       "series, the rest count as \"(other)\".",
       {"result"}},
      {.name = "tenant", .values_max = tenants_max, .overflow_value = "(other)"});
  duration_ = metrics::declare_histogram(
      catalog,
      {"outpost_delivery_duration_seconds",
       "From acceptance to a recipient's final disposition (delivered, bounced, suppressed).",
       {}},
      metrics::queue_time_buckets());
}

OutcomeMetrics::Shard OutcomeMetrics::bind(metrics::Registry& registry) const {
  Shard shard{};
  static constexpr std::array<std::string_view, 4> kResults = {"delivered", "deferred", "bounced",
                                                               "suppressed"};
  for (std::size_t i = 0; i < kResults.size(); ++i) {
    shard.by_destination[i] = &registry.bounded_counter(by_destination_, {kResults[i]});
    shard.by_tenant[i] = &registry.bounded_counter(by_tenant_, {kResults[i]});
  }
  shard.duration = &registry.histogram(duration_);
  return shard;
}

void OutcomeMetrics::count(Shard& shard, const RecipientOutcome& outcome) {
  const std::optional<std::size_t> result = result_index(outcome.recipient.state);
  if (!result) return;
  const std::string_view tenant =
      outcome.envelope.tenant.empty() ? std::string_view("(none)") : outcome.envelope.tenant;
  shard.by_destination[*result]->inc(outcome.envelope.destination);
  shard.by_tenant[*result]->inc(tenant);
  if (outcome.recipient.state == queue::RecipientState::deferred) return;  // not final
  shard.duration->observe(std::chrono::duration_cast<std::chrono::nanoseconds>(
      outcome.at - outcome.envelope.received_at));
}

}  // namespace mta::delivery
