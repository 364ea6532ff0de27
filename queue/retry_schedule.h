// Retry policy: how long to wait before the next delivery attempt of a deferred part, and
// when to stop and bounce. Pure: the random draw is a parameter, so tests are exact; the
// caller (delivery) passes a uniform draw and the part's expires_at.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "base/clock.h"

namespace mta::queue {

// Exponential backoff with jitter and a maximum age (Postfix's minimal/maximal_backoff_time
// and maximal_queue_lifetime, with its 1 min / 4 h / 3 day spirit). Jitter spreads the
// retries of a burst deferred together, so they do not hit the destination together again.
struct RetryPolicy {
  Clock::Duration initial = std::chrono::minutes(1);
  double multiplier = 2.0;
  Clock::Duration max_delay = std::chrono::hours(4);
  double jitter = 0.2;  // ± fraction of the delay
  Clock::Duration max_age = std::chrono::hours(72);
};

// Delay before attempt number `attempts + 1` given `attempts` already made (attempts >= 1):
// initial × multiplier^(attempts − 1), capped at max_delay, then scaled by
// 1 + jitter × (2 × unit_random − 1) and capped at max_delay again, so max_delay is a true
// maximum and a capped delay still spreads over [max_delay × (1 − jitter), max_delay].
// Rounded to the nanosecond. `unit_random` in [0, 1). Asserts a sane policy (initial > 0,
// multiplier >= 1, 0 <= jitter < 1, max_delay >= initial).
Clock::Duration retry_delay(const RetryPolicy& policy, std::uint32_t attempts, double unit_random);

// now + retry_delay(...), or nullopt when that would be past expires_at: the part has
// exhausted its maximum age and is bounced now rather than retried.
std::optional<Clock::WallTime> next_attempt(const RetryPolicy& policy, std::uint32_t attempts,
                                            Clock::WallTime now, Clock::WallTime expires_at,
                                            double unit_random);

}  // namespace mta::queue
