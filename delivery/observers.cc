#include "delivery/observers.h"

#include <utility>

namespace mta::delivery {

OutcomeFn tell_observers(std::uint32_t shard, std::vector<OutcomeObserver*> observers) {
  std::erase(observers, nullptr);
  return [shard, observers = std::move(observers)](const RecipientOutcome& outcome) {
    for (OutcomeObserver* observer : observers) observer->on_outcome(shard, outcome);
  };
}

void DeliveryLogWriter::on_outcome(std::uint32_t shard, const RecipientOutcome& outcome) {
  (void)log_.append(shard, delivery_log_line(outcome));
}

}  // namespace mta::delivery
