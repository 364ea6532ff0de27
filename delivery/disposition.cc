// Recipient dispositions. A recipient's fate is decided by its own RCPT reply when that was
// not 2xx, else by the reply that ended the transaction (the final DATA reply, or a MAIL or
// DATA rejection): RFC 5321 §4.2.1 classes, 2 = done, 4 = try again, 5 = give up. When the
// retry policy has no next attempt before the part expires, deferred recipients bounce now.
#include "delivery/disposition.h"

#include "base/assert.h"

namespace mta::delivery {
namespace {

bool is_final(queue::RecipientState state) {
  return state == queue::RecipientState::delivered || state == queue::RecipientState::bounced ||
         state == queue::RecipientState::suppressed;
}

void bounce(queue::Envelope& envelope, std::size_t index, Outcome& outcome) {
  envelope.recipients[index].state = queue::RecipientState::bounced;
  outcome.newly_bounced.push_back(index);
}

Outcome finish(queue::Envelope& envelope, Outcome outcome, Clock::WallTime now,
               const queue::RetryPolicy& policy, double unit_random) {
  bool unfinished = false;
  bool untried = false;  // more recipients than one transaction takes: the rest go now
  for (const auto& recipient : envelope.recipients) {
    unfinished |= !is_final(recipient.state);
    untried |= recipient.state == queue::RecipientState::pending;
  }
  if (untried && now < envelope.expires_at) {
    envelope.next_attempt_at = now;  // the same attempt goes on
    outcome.step = NextStep::retry;
    return outcome;
  }
  ++envelope.attempts;
  if (!unfinished) return outcome;
  if (auto next =
          queue::next_attempt(policy, envelope.attempts, now, envelope.expires_at, unit_random)) {
    envelope.next_attempt_at = *next;
    outcome.step = NextStep::retry;
    return outcome;
  }
  Outcome expired = expire(envelope);
  outcome.newly_bounced.insert(outcome.newly_bounced.end(), expired.newly_bounced.begin(),
                               expired.newly_bounced.end());
  return outcome;
}

void set(queue::Envelope& envelope, std::size_t index, const smtp::Reply& reply, Outcome& outcome) {
  auto& recipient = envelope.recipients[index];
  ++recipient.attempts;
  recipient.last_reply = reply.to_string();
  if (reply.positive()) {
    recipient.state = queue::RecipientState::delivered;
  } else if (reply.permanent()) {
    bounce(envelope, index, outcome);
  } else {
    recipient.state = queue::RecipientState::deferred;
  }
}

// A 2xx that did not end a delivered message: the session reports none (a 250 where 354 was
// due fails it), but a recipient marked delivered on one would be mail lost without a trace,
// so it waits for the next attempt instead.
smtp::Reply not_confirmed(const smtp::Reply& reply) {
  return smtp::Reply{.code = 451,
                     .enhanced = smtp::EnhancedCode{.klass = 4, .subject = 5, .detail = 0},
                     .lines = {"delivery not confirmed: " + reply.to_string()}};
}

}  // namespace

std::vector<std::size_t> recipients_to_try(const queue::Envelope& envelope, std::size_t most) {
  std::vector<std::size_t> pending;
  std::vector<std::size_t> deferred;
  for (std::size_t i = 0; i < envelope.recipients.size(); ++i) {
    const queue::RecipientState state = envelope.recipients[i].state;
    if (state == queue::RecipientState::pending) {
      pending.push_back(i);
    } else if (!is_final(state)) {
      deferred.push_back(i);
    }
  }
  std::vector<std::size_t>& batch = pending.empty() ? deferred : pending;
  if (batch.size() > most) batch.resize(most);
  return batch;
}

Outcome apply_transaction(queue::Envelope& envelope, const std::vector<std::size_t>& tried,
                          const smtp::TransactionResult& result, Clock::WallTime now,
                          const queue::RetryPolicy& policy, double unit_random) {
  Outcome outcome;
  for (std::size_t k = 0; k < tried.size(); ++k) {
    MTA_ASSERT(tried[k] < envelope.recipients.size());
    const smtp::Reply* own =
        k < result.recipient_replies.size() ? &result.recipient_replies[k] : nullptr;
    const smtp::Reply& decided =
        own != nullptr && own->code != 0 && !own->positive() ? *own : result.reply;
    set(envelope, tried[k],
        decided.positive() && !result.delivered ? not_confirmed(decided) : decided, outcome);
  }
  return finish(envelope, std::move(outcome), now, policy, unit_random);
}

// A failure without a reply: every tried recipient gets `reason`, deferred or bounced.
Outcome fail_tried(queue::Envelope& envelope, const std::vector<std::size_t>& tried,
                   std::string_view reason, bool permanent, Clock::WallTime now,
                   const queue::RetryPolicy& policy, double unit_random) {
  Outcome outcome;
  for (std::size_t index : tried) {
    MTA_ASSERT(index < envelope.recipients.size());
    auto& recipient = envelope.recipients[index];
    ++recipient.attempts;
    recipient.last_reply = std::string(reason);
    if (permanent) {
      bounce(envelope, index, outcome);
    } else {
      recipient.state = queue::RecipientState::deferred;
    }
  }
  return finish(envelope, std::move(outcome), now, policy, unit_random);
}

Outcome apply_failure(queue::Envelope& envelope, const std::vector<std::size_t>& tried,
                      std::string_view reason, Clock::WallTime now,
                      const queue::RetryPolicy& policy, double unit_random) {
  return fail_tried(envelope, tried, reason, false, now, policy, unit_random);
}

Outcome apply_permanent_failure(queue::Envelope& envelope, const std::vector<std::size_t>& tried,
                                std::string_view reason, Clock::WallTime now,
                                const queue::RetryPolicy& policy, double unit_random) {
  return fail_tried(envelope, tried, reason, true, now, policy, unit_random);
}

Outcome expire(queue::Envelope& envelope) {
  Outcome outcome;
  for (std::size_t i = 0; i < envelope.recipients.size(); ++i) {
    auto& recipient = envelope.recipients[i];
    if (is_final(recipient.state)) continue;
    recipient.last_reply =
        std::string(queue::expired_reply) +
        (recipient.last_reply.empty() ? std::string() : "; last reply: " + recipient.last_reply);
    bounce(envelope, i, outcome);
  }
  return outcome;
}

Outcome bounce_by_operator(queue::Envelope& envelope) {
  Outcome outcome;
  for (std::size_t i = 0; i < envelope.recipients.size(); ++i) {
    auto& recipient = envelope.recipients[i];
    if (is_final(recipient.state)) continue;
    recipient.last_reply =
        "5.0.0 returned to sender by the queue operator" +
        (recipient.last_reply.empty() ? std::string() : "; last reply: " + recipient.last_reply);
    bounce(envelope, i, outcome);
  }
  return outcome;
}

}  // namespace mta::delivery
