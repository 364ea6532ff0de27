// A dispatcher's limits in force (DestinationLimits: own, fleet share, throttle), the rate
// buckets that go with them, what it claims from the fleet, and response-driven shaping: a
// reply that matches a rule suspends or throttles the destination, which relaxes a step every
// recover period.
#include "delivery/dispatcher.h"

#include <algorithm>
#include <string>

#include "base/log.h"
#include "base/rfc3339.h"

namespace mta::delivery {

void Dispatcher::refresh_limits() {
  const Limits limits = limits_.in_force();
  if (limits == options_.limits) return;
  options_.limits = limits;
  rates_ = RateGate(limits, context_.shard.clock().now());
}

void Dispatcher::set_limits(const Limits& limits) {
  limits_.set_own(limits);
  refresh_limits();
}

void Dispatcher::set_fleet_limits(std::optional<Limits> limits) {
  const std::size_t before = options_.limits.connections_max;
  if (!limits_.set_fleet(limits)) return;
  refresh_limits();
  if (options_.limits.connections_max < before) {
    quit_idle(options_.limits.connections_max);
  } else {
    pump();
  }
}

std::size_t Dispatcher::take_connections_wanted(std::size_t most) {
  most = limits_.connections_under_throttle(most);
  const Clock::TimePoint at = context_.shard.clock().now();
  const std::size_t now =
      connections_.size() + (sendable_at(at) > at ? std::size_t{0} : ready_.size());
  const std::size_t wanted = std::min(most, std::max(wanted_peak_, now));
  wanted_peak_ = now;
  return wanted;
}

void Dispatcher::react(const smtp::Reply& reply) {
  if (context_.links.response_rules == nullptr || reply.code < 400) return;
  const std::string text = reply.to_string();
  const ResponseRule* rule = context_.links.response_rules->match(reply.code, text);
  if (rule == nullptr) return;
  const ResponseAction& action = rule->action;
  if (action.suspend > Clock::Duration::zero()) {
    const auto until = context_.shard.clock().wall_now() +
                       std::chrono::duration_cast<Clock::WallTime::duration>(action.suspend);
    if (until > suspended_until_) {
      ++context_.probe.shaping_suspensions;
      log::warning(destination_ + ": \"" + text + "\" matched shaping rule " + rule->name +
                   ": suspended until " + rfc3339(until));
      suspend(until);
    }
  }
  if (action.throttles()) {
    ++context_.probe.shaping_throttles;
    // Every matching reply throttles again: one line per rule, then one a minute.
    log::warning_limited(
        "throttle " + destination_ + " " + rule->name,
        destination_ + ": \"" + text + "\" matched shaping rule " + rule->name + ": throttled" +
            (action.connections > 0 ? " to " + std::to_string(action.connections) + " connections"
                                    : std::string()) +
            (action.messages_per_second > 0
                 ? ", " + std::to_string(action.messages_per_second) + " messages/s"
                 : std::string()));
    throttle(action);
  }
}

void Dispatcher::throttle(const ResponseAction& action) {
  limits_.throttle(action);
  refresh_limits();
  // Connections over the new count go: idle ones now, busy ones after their transaction
  // (take_next checks the count).
  quit_idle(options_.limits.connections_max);
  context_.shard.cancel_timer(recover_timer_);
  recover_timer_ = context_.shard.schedule(limits_.recover_every(), [this] {
    recover_timer_ = 0;
    relax();
  });
}

void Dispatcher::relax() {
  if (limits_.relax()) {
    ++context_.probe.shaping_recoveries;
    log::info(destination_ + ": shaping throttle over, back to its own limits");
    refresh_limits();
    pump();
    return;
  }
  ++context_.probe.shaping_relaxations;
  refresh_limits();
  recover_timer_ = context_.shard.schedule(limits_.recover_every(), [this] {
    recover_timer_ = 0;
    relax();
  });
  pump();
}

}  // namespace mta::delivery
