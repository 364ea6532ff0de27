// destination_views reads the dispatchers through their const accessors; DestinationActivity is
// a map of destinations under a mutex.
#include "delivery/destination_view.h"

#include <algorithm>
#include <utility>

#include "base/ascii.h"
#include "delivery/dispatcher_connection.h"
#include "delivery/shard_delivery.h"

namespace mta::delivery {

void Dispatcher::for_each_in_flight(const std::function<void(const queue::Envelope&)>& fn) const {
  for (const auto& [id, connection] : connections_) {
    if (const queue::Envelope* envelope = connection->in_flight()) fn(*envelope);
  }
}

std::vector<DestinationView> destination_views(const ShardDelivery& delivery) {
  std::vector<DestinationView> out;
  delivery.for_each_dispatcher([&out](const Dispatcher& d) {
    const std::size_t busy = d.busy_count();
    const std::size_t parts = d.scheduled_count() + busy;
    if (parts == 0 && d.connection_count() == 0 && !d.suspended_until() && !d.throttled()) return;
    out.push_back({.destination = d.destination(),
                   .kind = d.is_pool()                            ? "pool"
                           : d.destination() == relay_destination ? "relay"
                                                                  : "domain",
                   .pool = d.routes_only() ? d.pool() : std::string(),
                   .parts = parts,
                   .in_flight = busy,
                   .connections = d.connection_count(),
                   .connections_max = d.effective_limits().connections_max,
                   .next_attempt = d.next_due(),
                   .suspended_until = d.suspended_until(),
                   .throttled = d.throttled()});
    if (d.is_pool() && busy > 0) {
      std::map<std::string, std::uint64_t> carrying;
      d.for_each_in_flight([&carrying](const queue::Envelope& e) { ++carrying[e.destination]; });
      out.back().carrying.assign(carrying.begin(), carrying.end());
    }
  });
  return out;
}

DestinationActivity::DestinationActivity(std::size_t destinations_max, std::size_t parts_max)
    : destinations_max_(std::max<std::size_t>(destinations_max, 1)), parts_max_(parts_max) {}

void DestinationActivity::on_outcome(std::uint32_t /*shard*/, const RecipientOutcome& outcome) {
  const auto state = outcome.recipient.state;
  const std::string name = ascii_lowercase(outcome.envelope.destination);
  const std::pair<std::uint64_t, std::uint32_t> key{outcome.envelope.id.value(),
                                                    outcome.envelope.part};
  std::lock_guard lock(mutex_);
  auto found = destinations_.find(name);
  if (found == destinations_.end()) {
    if (destinations_.size() >= destinations_max_) evict_quietest();
    found = destinations_.emplace(name, Destination{}).first;
  }
  Destination& d = found->second;
  d.last_seen = std::max(d.last_seen, outcome.at);
  if (state == queue::RecipientState::delivered) {
    const std::int64_t second =
        std::chrono::duration_cast<std::chrono::seconds>(outcome.at.time_since_epoch()).count();
    const std::size_t slot = static_cast<std::size_t>(second % 10);
    if (d.slot_second[slot] != second) {
      d.slot_second[slot] = second;
      d.slot_count[slot] = 0;
    }
    ++d.slot_count[slot];
  }
  if (state == queue::RecipientState::deferred || state == queue::RecipientState::bounced) {
    d.last_error = outcome.recipient.last_reply.substr(0, 512);
    d.last_error_at = outcome.at;
  }
  auto part = d.parts.find(key);
  if (state == queue::RecipientState::deferred) {
    if (part == d.parts.end()) {
      if (d.parts.size() >= parts_max_) return;
      part = d.parts.emplace(key, Part{.received_at = outcome.envelope.received_at}).first;
    }
    auto& waiting = part->second.waiting;
    if (std::find(waiting.begin(), waiting.end(), outcome.recipient.address) == waiting.end()) {
      waiting.push_back(outcome.recipient.address);
      ++d.waiting;
    }
    return;
  }
  // Settled (delivered, bounced, suppressed): no longer waiting.
  if (part == d.parts.end()) return;
  auto& waiting = part->second.waiting;
  if (auto it = std::find(waiting.begin(), waiting.end(), outcome.recipient.address);
      it != waiting.end()) {
    waiting.erase(it);
    --d.waiting;
  }
  if (waiting.empty()) d.parts.erase(part);
}

void DestinationActivity::evict_quietest() {
  auto quietest = destinations_.begin();
  for (auto it = destinations_.begin(); it != destinations_.end(); ++it) {
    if (it->second.last_seen < quietest->second.last_seen) quietest = it;
  }
  if (quietest != destinations_.end()) destinations_.erase(quietest);
}

std::unordered_map<std::string, DestinationActivityView> DestinationActivity::snapshot(
    Clock::WallTime now) const {
  const std::int64_t second =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const auto window = std::chrono::duration_cast<std::chrono::seconds>(rate_window()).count();
  std::unordered_map<std::string, DestinationActivityView> out;
  std::lock_guard lock(mutex_);
  for (const auto& [name, d] : destinations_) {
    DestinationActivityView view{.recipients_waiting = d.waiting,
                                 .last_error = d.last_error,
                                 .last_error_at = d.last_error_at};
    std::uint64_t delivered = 0;
    for (std::size_t i = 0; i < 10; ++i) {
      // The last `window` whole seconds before this one (this one is still filling).
      if (d.slot_second[i] < second && d.slot_second[i] >= second - window) {
        delivered += d.slot_count[i];
      }
    }
    view.delivered_per_second = static_cast<double>(delivered) / static_cast<double>(window);
    // Message ids grow with time: the first part is of the oldest message.
    if (!d.parts.empty()) view.oldest_received = d.parts.begin()->second.received_at;
    out.emplace(name, std::move(view));
  }
  return out;
}

}  // namespace mta::delivery
