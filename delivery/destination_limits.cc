// The limits in force at a destination: own or fleet share, under a response throttle.
#include "delivery/destination_limits.h"

#include <algorithm>

namespace mta::delivery {

Limits DestinationLimits::in_force() const {
  Limits limits = base();
  if (throttle_) limits.tighten(*throttle_);
  return limits;
}

bool DestinationLimits::set_fleet(std::optional<Limits> limits) {
  if (limits == fleet_) return false;
  fleet_ = limits;
  return true;
}

void DestinationLimits::throttle(const ResponseAction& action) {
  throttle_ =
      Limits{.connections_max = action.connections > 0 ? action.connections : Limits::unlimited,
             .messages_per_connection_max = Limits::unlimited,
             .recipients_per_message_max = Limits::unlimited,
             .messages_per_second = action.messages_per_second};
  relax_steps_ = 0;
  recover_every_ = action.recover;
}

std::size_t DestinationLimits::connections_under_throttle(std::size_t most) const {
  return throttle_ ? std::min(most, throttle_->connections_max) : most;
}

bool DestinationLimits::relax() {
  if (!throttle_) return true;
  const std::size_t connections_in_force = in_force().connections_max;
  Limits& next = *throttle_;
  const Limits& base = this->base();
  next.connections_max = std::min(next.connections_max, connections_in_force);
  if (next.connections_max < base.connections_max) ++next.connections_max;
  if (next.messages_per_second > 0) next.messages_per_second *= 2;
  ++relax_steps_;
  const bool connections_back = next.connections_max >= base.connections_max;
  const bool rate_back = base.messages_per_second > 0
                             ? next.messages_per_second >= base.messages_per_second
                             : next.messages_per_second == 0 || relax_steps_ >= 6;
  if (!connections_back || !rate_back) return false;
  throttle_.reset();
  return true;
}

Limits fleet_share_for(const Limits& node, const cluster::Grant* grant,
                       const cluster::Standing& standing, std::uint32_t spread) {
  if (grant != nullptr) return node.fleet_share(grant->connections, grant->holders);
  if (standing.connected) return node.fleet_share(0, 1);  // until the first grant
  return node.per_shard(spread * standing.nodes);
}

}  // namespace mta::delivery
