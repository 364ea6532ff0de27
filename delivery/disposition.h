// What one SMTP transaction means for a queued part: per-recipient states from the server's
// replies (2xx delivered, 4xx deferred, 5xx bounced), the next attempt time from the retry
// policy, expiry, and which recipients this attempt bounced (they get one DSN together).
// Pure: no I/O, no clock reads; the caller passes `now` and a random number.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "proto/smtp/client_session.h"
#include "queue/retry_schedule.h"
#include "queue/store.h"

namespace mta::delivery {

enum class NextStep {
  remove,  // every recipient is delivered or bounced
  retry,   // some recipient is deferred: keep the part, try again at next_attempt_at
};

struct Outcome {
  NextStep step = NextStep::remove;
  std::vector<std::size_t> newly_bounced;  // indices into envelope.recipients
};

// The recipients still to be tried, as indices into envelope.recipients: at most `most` (a
// destination's recipients per message) of the never-tried (pending) ones while any are left,
// else of the deferred ones. So a part with more recipients is sent in several transactions
// one after another (finish() keeps the attempt open, due now, while one is pending), and
// what they deferred waits for the next attempt.
std::vector<std::size_t> recipients_to_try(const queue::Envelope& envelope,
                                           std::size_t most = SIZE_MAX);

// Applies `result` (whose recipient_replies follow `tried`) to `envelope`.
Outcome apply_transaction(queue::Envelope& envelope, const std::vector<std::size_t>& tried,
                          const smtp::TransactionResult& result, Clock::WallTime now,
                          const queue::RetryPolicy& policy, double unit_random);

// A failure without a reply for the tried recipients (connection refused or lost, timeout,
// no route): they are deferred with `reason`, e.g. "4.4.1 connection refused".
Outcome apply_failure(queue::Envelope& envelope, const std::vector<std::size_t>& tried,
                      std::string_view reason, Clock::WallTime now,
                      const queue::RetryPolicy& policy, double unit_random);

// A permanent failure without a reply (the domain's null MX, NXDOMAIN): the tried recipients
// bounce with `reason`, e.g. "5.1.10 example.com has a null MX record".
Outcome apply_permanent_failure(queue::Envelope& envelope, const std::vector<std::size_t>& tried,
                                std::string_view reason, Clock::WallTime now,
                                const queue::RetryPolicy& policy, double unit_random);

// The part's time is up (expires_at passed while it waited): every recipient not yet final
// bounces with 4.4.7, keeping the last reply it got.
Outcome expire(queue::Envelope& envelope);

// An operator returned the part to its sender (`outpost queue bounce`): every recipient not
// yet final bounces with 5.0.0, keeping the last reply it got.
Outcome bounce_by_operator(queue::Envelope& envelope);

}  // namespace mta::delivery
