// Retry policy arithmetic, in double nanoseconds so a huge attempt count saturates at the
// cap instead of overflowing an integer.
#include "queue/retry_schedule.h"

#include <algorithm>
#include <cmath>

#include "base/assert.h"

namespace mta::queue {

Clock::Duration retry_delay(const RetryPolicy& policy, std::uint32_t attempts, double unit_random) {
  MTA_ASSERT(attempts >= 1);
  MTA_ASSERT(unit_random >= 0.0);
  MTA_ASSERT(unit_random < 1.0);
  MTA_ASSERT(policy.initial > Clock::Duration::zero());
  MTA_ASSERT(policy.multiplier >= 1.0);
  MTA_ASSERT(policy.jitter >= 0.0);
  MTA_ASSERT(policy.jitter < 1.0);
  MTA_ASSERT(policy.max_delay >= policy.initial);
  const double cap = static_cast<double>(policy.max_delay.count());
  // pow() of a large exponent is +inf, which min() turns into the cap.
  const double base = std::min(static_cast<double>(policy.initial.count()) *
                                   std::pow(policy.multiplier, static_cast<double>(attempts - 1)),
                               cap);
  const double jittered = base * (1.0 + policy.jitter * (2.0 * unit_random - 1.0));
  return Clock::Duration(std::llround(std::min(jittered, cap)));
}

std::optional<Clock::WallTime> next_attempt(const RetryPolicy& policy, std::uint32_t attempts,
                                            Clock::WallTime now, Clock::WallTime expires_at,
                                            double unit_random) {
  const Clock::WallTime at = now + std::chrono::duration_cast<Clock::WallTime::duration>(
                                       retry_delay(policy, attempts, unit_random));
  if (at > expires_at) return std::nullopt;
  return at;
}

}  // namespace mta::queue
