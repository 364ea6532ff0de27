// The limits in force at one destination: its own (the [delivery] defaults under the
// [[shaping]] rules), or in fleet mode its share of the fleet's, tightened while a response
// rule throttles it; and the fleet share a destination is given. Pure: the dispatcher owns the
// timers (a relaxation step every recover_every()) and the rate buckets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "base/clock.h"
#include "cluster/fleet.h"
#include "delivery/response_rules.h"
#include "delivery/shaping.h"

namespace mta::delivery {

class DestinationLimits {
 public:
  explicit DestinationLimits(const Limits& own) : own_(own) {}

  // The destination's own limits, before any throttle or fleet share.
  const Limits& own() const { return own_; }
  void set_own(const Limits& limits) { own_ = limits; }
  // What a throttle relaxes back to: the fleet share in fleet mode, else the own limits.
  const Limits& base() const { return fleet_ ? *fleet_ : own_; }
  // The base under any throttle.
  Limits in_force() const;
  // Fleet mode: the share in force instead of the own limits (nullopt: the own ones again).
  // False when it is the share already.
  bool set_fleet(std::optional<Limits> limits);

  // A response rule's throttle: at most its connections and rate, from its first step.
  void throttle(const ResponseAction& action);
  bool throttled() const { return throttle_.has_value(); }
  Clock::Duration recover_every() const { return recover_every_; }
  // `most`, or the throttle's connection count when lower.
  std::size_t connections_under_throttle(std::size_t most) const;
  // One recovery step: one more connection and twice the rate, until the base is back; with
  // no rate of its own, six doublings (64 times the throttled rate) end it. True when the
  // throttle is over.
  bool relax();

 private:
  Limits own_;
  std::optional<Limits> fleet_;     // fleet mode: its share, in force of the own ones
  std::optional<Limits> throttle_;  // a response rule's, while it lasts
  int relax_steps_ = 0;
  Clock::Duration recover_every_{};
};

// Fleet mode: what a destination whose node-wide limits are `node` is given. Its grant: the
// connections granted and 1/holders of each rate. No grant while Redis answers: no connection
// until the first. Redis not answering: 1/(nodes x spread) of the node's (`spread`: the shards
// a destination is delivered from, the shard count for the relay, else 1).
Limits fleet_share_for(const Limits& node, const cluster::Grant* grant,
                       const cluster::Standing& standing, std::uint32_t spread);

}  // namespace mta::delivery
