// What one SMTP transaction means for a queued message: per-recipient states from the
// server's replies (2xx delivered, 4xx deferred, 5xx bounced) and what the queue does next.
// Pure: no I/O, no clock reads; the caller passes `now` and applies the result.
#pragma once

#include <cstddef>
#include <vector>

#include "base/clock.h"
#include "proto/smtp/client_session.h"
#include "queue/store.h"

namespace mta::delivery {

enum class NextStep {
  remove,  // every recipient is delivered or bounced
  retry,   // some recipient is deferred: keep the record, try again at next_attempt_at
};

struct RetryPolicy {
  Clock::Duration retry_delay = std::chrono::minutes(1);
};

// The recipients still to be tried, as indices into envelope.recipients.
std::vector<std::size_t> recipients_to_try(const queue::Envelope& envelope);

// Applies `result` (whose recipient_replies follow `tried`) to `envelope` and says what to do.
NextStep apply_transaction(queue::Envelope& envelope, const std::vector<std::size_t>& tried,
                           const smtp::TransactionResult& result, Clock::WallTime now,
                           const RetryPolicy& policy);

// A failure before any transaction ran (connection refused, greeting 421, lost connection):
// the tried recipients are deferred with `reason`.
NextStep apply_connection_failure(queue::Envelope& envelope, const std::vector<std::size_t>& tried,
                                  std::string_view reason, Clock::WallTime now,
                                  const RetryPolicy& policy);

}  // namespace mta::delivery
