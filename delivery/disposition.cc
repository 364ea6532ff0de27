// Recipient dispositions. A recipient's fate is decided by its own RCPT reply when that was
// not 2xx, else by the reply that ended the transaction (the final DATA reply, or a MAIL or
// DATA rejection): RFC 5321 §4.2.1 classes, 2 = done, 4 = try again, 5 = give up.
#include "delivery/disposition.h"

#include "base/assert.h"

namespace mta::delivery {
namespace {

bool is_final(queue::RecipientState state) {
  return state == queue::RecipientState::delivered || state == queue::RecipientState::bounced;
}

NextStep next_step(queue::Envelope& envelope, Clock::WallTime now, const RetryPolicy& policy) {
  ++envelope.attempts;
  for (const auto& recipient : envelope.recipients) {
    if (!is_final(recipient.state)) {
      envelope.next_attempt_at =
          now + std::chrono::duration_cast<Clock::WallTime::duration>(policy.retry_delay);
      return NextStep::retry;
    }
  }
  return NextStep::remove;
}

void set(queue::Recipient& recipient, const smtp::Reply& reply) {
  ++recipient.attempts;
  recipient.last_reply = reply.to_string();
  if (reply.positive()) {
    recipient.state = queue::RecipientState::delivered;
  } else if (reply.permanent()) {
    recipient.state = queue::RecipientState::bounced;
  } else {
    recipient.state = queue::RecipientState::deferred;
  }
}

}  // namespace

std::vector<std::size_t> recipients_to_try(const queue::Envelope& envelope) {
  std::vector<std::size_t> indices;
  for (std::size_t i = 0; i < envelope.recipients.size(); ++i) {
    if (!is_final(envelope.recipients[i].state)) indices.push_back(i);
  }
  return indices;
}

NextStep apply_transaction(queue::Envelope& envelope, const std::vector<std::size_t>& tried,
                           const smtp::TransactionResult& result, Clock::WallTime now,
                           const RetryPolicy& policy) {
  for (std::size_t k = 0; k < tried.size(); ++k) {
    MTA_ASSERT(tried[k] < envelope.recipients.size());
    auto& recipient = envelope.recipients[tried[k]];
    const smtp::Reply* own =
        k < result.recipient_replies.size() ? &result.recipient_replies[k] : nullptr;
    if (own != nullptr && own->code != 0 && !own->positive()) {
      set(recipient, *own);
    } else {
      set(recipient, result.reply);
    }
  }
  return next_step(envelope, now, policy);
}

NextStep apply_connection_failure(queue::Envelope& envelope, const std::vector<std::size_t>& tried,
                                  std::string_view reason, Clock::WallTime now,
                                  const RetryPolicy& policy) {
  for (std::size_t index : tried) {
    MTA_ASSERT(index < envelope.recipients.size());
    auto& recipient = envelope.recipients[index];
    ++recipient.attempts;
    recipient.state = queue::RecipientState::deferred;
    recipient.last_reply = std::string(reason);
  }
  return next_step(envelope, now, policy);
}

}  // namespace mta::delivery
