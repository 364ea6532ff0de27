// Table tests of the retry policy: exact delays without and with jitter (fixed draws), the
// cap, saturation at huge attempt counts, and expiry turning into a bounce.
#include "queue/retry_schedule.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace mta::queue {
namespace {

using namespace std::chrono_literals;

TEST(RetryDelay, ExactDelaysWithAndWithoutJitter) {
  RetryPolicy no_jitter;
  no_jitter.jitter = 0.0;
  const RetryPolicy jittered;  // defaults: 1 min ×2, cap 4 h, ±20 %
  RetryPolicy triple;
  triple.initial = 10s;
  triple.multiplier = 3.0;
  triple.max_delay = 1h;
  triple.jitter = 0.5;

  struct Case {
    std::string name;
    RetryPolicy policy;
    std::uint32_t attempts;
    double unit_random;
    Clock::Duration want;
  };
  const std::vector<Case> cases = {
      {"first", no_jitter, 1, 0.0, 1min},
      {"second", no_jitter, 2, 0.9, 2min},
      {"third", no_jitter, 3, 0.3, 4min},
      {"eighth", no_jitter, 8, 0.0, 128min},
      {"ninth_capped", no_jitter, 9, 0.0, 4h},  // 256 min > 240 min
      {"huge_attempts_saturate", no_jitter, 4'000'000'000U, 0.0, 4h},
      {"jitter_midpoint_is_exact", jittered, 1, 0.5, 1min},
      {"jitter_lowest", jittered, 1, 0.0, 48s},
      {"jitter_quarter", jittered, 3, 0.25, 216s},  // 240 s × 0.9
      {"jitter_high", jittered, 2, 0.75, 132s},     // 120 s × 1.1
      {"capped_jitter_down", jittered, 20, 0.0, 192min},
      {"capped_jitter_up_stays_at_cap", jittered, 20, 0.99, 4h},
      {"multiplier_3", triple, 3, 0.5, 90s},
      {"multiplier_3_low", triple, 3, 0.0, 45s},
      {"multiplier_3_capped", triple, 7, 0.5, 1h},  // 7290 s > 3600 s
      {"multiplier_3_capped_low", triple, 7, 0.0, 30min},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(retry_delay(c.policy, c.attempts, c.unit_random), c.want);
  }
}

TEST(RetryDelay, JitteredDelaysStayWithinBounds) {
  const RetryPolicy policy;
  for (std::uint32_t attempts = 1; attempts < 40; ++attempts) {
    for (int i = 0; i < 100; ++i) {
      const double u = i / 100.0;
      const Clock::Duration got = retry_delay(policy, attempts, u);
      EXPECT_GE(got, 48s);
      EXPECT_LE(got, policy.max_delay);
      // Monotonic in the draw.
      if (i > 0) {
        EXPECT_GE(got, retry_delay(policy, attempts, (i - 1) / 100.0));
      }
    }
  }
}

TEST(NextAttempt, RetriesUntilExpiryThenBounces) {
  RetryPolicy policy;
  policy.jitter = 0.0;
  const Clock::WallTime received(1'700'000'000s);
  const Clock::WallTime expires = received + policy.max_age;
  struct Case {
    std::string name;
    std::uint32_t attempts;
    Clock::WallTime now;
    std::optional<Clock::WallTime> want;
  };
  const std::vector<Case> cases = {
      {"early", 1, received + 1s, received + 1s + 1min},
      {"lands_exactly_on_expiry", 1, expires - 1min, expires},
      {"one_ns_past_expiry", 1, expires - 1min + 1ns, std::nullopt},
      {"capped_delay_past_expiry", 30, expires - 3h, std::nullopt},
      {"capped_delay_fits", 30, expires - 4h, expires},
      {"already_expired", 1, expires + 1s, std::nullopt},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(next_attempt(policy, c.attempts, c.now, expires, 0.3), c.want);
  }
}

}  // namespace
}  // namespace mta::queue
