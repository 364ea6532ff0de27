// Recording what became of a dispatcher's parts: each recipient's outcome counted and
// reported once, suppressed recipients dropped, one DSN per attempt's bounces (durable before
// the part goes), then the part removed or waiting for its next attempt (here, or at its
// domain for a pool).
#include "delivery/dispatcher.h"

#include <algorithm>
#include <string>
#include <utility>

#include "base/log.h"
#include "queue/errc.h"

namespace mta::delivery {

void Dispatcher::drop_suppressed(queue::Envelope& envelope, std::vector<std::size_t>& tried) {
  std::erase_if(tried, [this, &envelope](std::size_t index) {
    queue::Recipient& recipient = envelope.recipients[index];
    auto why = context_.links.suppressed(recipient.address);
    if (!why) return false;
    recipient.state = queue::RecipientState::suppressed;
    recipient.last_reply = "550 5.7.1 Not attempted: recipient suppressed (" + *why + ")";
    report(envelope, recipient, nullptr);
    return true;
  });
}

void Dispatcher::finish(queue::Envelope& envelope, const std::vector<std::size_t>& tried,
                        const smtp::TransactionResult& result, const Hop& hop) {
  ++context_.probe.transactions;
  record(envelope, tried,
         apply_transaction(envelope, tried, result, context_.shard.clock().wall_now(),
                           options_.retry, unit_random()),
         &hop);
}

void Dispatcher::finish_with_failure(queue::Envelope& envelope,
                                     const std::vector<std::size_t>& tried,
                                     const std::string& reason, const Hop* hop, bool permanent) {
  const Clock::WallTime now = context_.shard.clock().wall_now();
  record(envelope, tried,
         permanent
             ? apply_permanent_failure(envelope, tried, reason, now, options_.retry, unit_random())
             : apply_failure(envelope, tried, reason, now, options_.retry, unit_random()),
         hop);
}

void Dispatcher::report(const queue::Envelope& envelope, const queue::Recipient& recipient,
                        const Hop* hop) {
  switch (recipient.state) {
    case queue::RecipientState::delivered:
      ++context_.probe.recipients_delivered;
      break;
    case queue::RecipientState::deferred:
      ++context_.probe.recipients_deferred;
      break;
    case queue::RecipientState::bounced:
      ++context_.probe.recipients_bounced;
      break;
    case queue::RecipientState::suppressed:
      ++context_.probe.recipients_suppressed;
      break;
    case queue::RecipientState::pending:
      return;
  }
  if (log::enabled(log::Level::debug)) {
    const tls::Info* tls = hop != nullptr ? hop->tls : nullptr;
    log::debug("delivery " + to_hex(envelope.id) + "." + std::to_string(envelope.part) + " <" +
               recipient.address + ">: " + recipient.last_reply + " [tls " +
               (tls == nullptr ? std::string("none")
                               : tls->protocol + " " + tls->cipher +
                                     (tls->verified ? " verified"
                                                    : " unverified (" + tls->verify_result + ")") +
                                     (tls->resumed ? " resumed" : "")) +
               "]");
  }
  if (context_.on_outcome) {
    context_.on_outcome(RecipientOutcome{.envelope = envelope,
                                         .recipient = recipient,
                                         .hop = hop,
                                         .at = context_.shard.clock().wall_now()});
  }
}

void Dispatcher::record(queue::Envelope& envelope, const std::vector<std::size_t>& settled,
                        Outcome outcome, const Hop* hop) {
  const queue::PartKey key{.message = envelope.id, .part = envelope.part};
  if (auto asked = after_attempt_.extract(key)) {
    outcome.step = NextStep::remove;
    if (asked.mapped() == OperatorAction::bounce) {
      const Outcome more = bounce_by_operator(envelope);
      outcome.newly_bounced.insert(outcome.newly_bounced.end(), more.newly_bounced.begin(),
                                   more.newly_bounced.end());
    }
  }
  // Each recipient once: the settled ones, and any an operator's bounce added.
  for (std::size_t index : settled) report(envelope, envelope.recipients[index], hop);
  for (std::size_t index : outcome.newly_bounced) {
    if (std::find(settled.begin(), settled.end(), index) == settled.end()) {
      report(envelope, envelope.recipients[index], nullptr);
    }
  }
  if (outcome.newly_bounced.empty()) {
    settle(envelope, outcome.step);
    return;
  }
  // One DSN for everything this attempt bounced, durable before the part (and maybe the body
  // it quotes) goes away. Meanwhile the part waits nowhere: no attempt can start on it.
  context_.bouncer.bounce(
      envelope, outcome.newly_bounced,
      options_.addresses.empty() ? std::string() : options_.addresses[cursor_].to_string(),
      [this, envelope, step = outcome.step](bool settled) mutable {
        if (settled) return settle(envelope, step);
        // The DSN was not stored: keep the part as stored, so a later attempt bounces again.
        reschedule(envelope, context_.shard.clock().wall_now() + options_.retry.initial);
      });
}

void Dispatcher::settle(queue::Envelope& envelope, NextStep step) {
  const queue::PartKey key{.message = envelope.id, .part = envelope.part};
  if (step == NextStep::remove) {
    // Delivered or bounced for good: the final state stays readable as history.
    remove_now(key, &envelope);
    return;
  }
  if (auto updated = context_.store.update_envelope(envelope); !updated) {
    ++context_.probe.store_failures;
    log::error("queue: cannot update " + to_hex(envelope.id) + ": " + updated.error().message());
  }
  reschedule(envelope, envelope.next_attempt_at);
}

void Dispatcher::reschedule(const queue::Envelope& envelope, Clock::WallTime due) {
  const queue::PartKey key{.message = envelope.id, .part = envelope.part};
  if (options_.pool && context_.links.requeue) {
    context_.links.requeue(queue::ScheduledItem{.due = due,
                                                .key = key,
                                                .destination = envelope.destination,
                                                .tenant = envelope.tenant,
                                                .traffic_class = envelope.traffic_class,
                                                .pool = envelope.pool});
    return;
  }
  schedule_.add(due, key,
                context_.tenants.tag_of(envelope.tenant, envelope.traffic_class, envelope.pool));
  arm_due_timer();
}

void Dispatcher::remove_now(queue::PartKey key, const queue::Envelope* final_state) {
  if (auto removed = context_.store.remove_part(key, final_state);
      !removed && removed.error().code != queue::Errc::not_found) {
    ++context_.probe.store_failures;
    log::error("queue: cannot remove " + to_hex(key.message) + ": " + removed.error().message());
  }
}

void Dispatcher::fail_ready(const std::string& reason, bool permanent, const Hop* hop) {
  while (const std::optional<ReadyPart> next = ready_.pop()) {
    auto envelope = context_.store.read_envelope(next->key);
    if (!envelope) continue;  // deleted meanwhile
    const auto tried = recipients_to_try(*envelope);
    const Clock::WallTime now = context_.shard.clock().wall_now();
    record(*envelope, tried,
           permanent ? apply_permanent_failure(*envelope, tried, reason, now, options_.retry,
                                               unit_random())
                     : apply_failure(*envelope, tried, reason, now, options_.retry, unit_random()),
           hop);
  }
}

}  // namespace mta::delivery
