// An operator's actions at a dispatcher: retry, delete or bounce a part (waiting, or in flight
// when its attempt ends), release one from the crash-loop breaker's quarantine, suspend and
// resume the destination.
#include "delivery/dispatcher.h"

#include <string>

#include "base/log.h"
#include "delivery/dispatcher_connection.h"

namespace mta::delivery {

ActionResult Dispatcher::apply(OperatorAction action, queue::PartKey key) {
  for (const auto& [id, connection] : connections_) {
    if (!connection->carries(key)) continue;
    if (action != OperatorAction::retry) after_attempt_[key] = action;
    return ActionResult::in_flight;
  }
  std::optional<ReadyPart> part;
  if (const auto tag = schedule_.take(key)) {
    part = Tenants::from_tag(key, *tag);
    if (quarantined_.erase(key) != 0 && action == OperatorAction::retry) release(key);
  } else {
    part = ready_.remove(key);
    if (!part) return ActionResult::not_found;
  }
  switch (action) {
    case OperatorAction::retry:
      ready_.push_front(*part);
      pump();
      break;
    case OperatorAction::remove:
      remove_now(key);
      break;
    case OperatorAction::bounce:
      if (auto envelope = context_.store.read_envelope(key)) {
        const auto settled = recipients_to_try(*envelope);
        record(*envelope, settled, bounce_by_operator(*envelope));
      } else {
        remove_now(key);
      }
      break;
  }
  return ActionResult::applied;
}

void Dispatcher::release(queue::PartKey key) {
  auto envelope = context_.store.read_envelope(key);
  if (!envelope) return;  // gone meanwhile: the attempt finds nothing
  // Due now: the update forgets its crashes (it takes three more to hold it again).
  envelope->next_attempt_at = context_.shard.clock().wall_now();
  if (auto updated = context_.store.update_envelope(*envelope); !updated) {
    ++context_.probe.store_failures;
    log::error("queue: cannot release " + to_hex(key.message) +
               " from quarantine: " + updated.error().message());
    return;
  }
  log::info("queue: " + to_hex(key.message) + "." + std::to_string(key.part) + " to " +
            destination_ + " released from quarantine by an operator");
}

void Dispatcher::suspend(Clock::WallTime until) {
  suspended_until_ = until;
  // pump() waits out a suspension in force; after one, it delivers what is due.
  pump();
  // Connections with nothing to do go now instead of idling through the suspension.
  if (suspended_until()) quit_idle(0);
}

void Dispatcher::resume() { suspend(Clock::WallTime{}); }

std::optional<Clock::WallTime> Dispatcher::suspended_until() const {
  if (suspended_until_ <= context_.shard.clock().wall_now()) return std::nullopt;
  return suspended_until_;
}

}  // namespace mta::delivery
