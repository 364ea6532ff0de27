// The crash-loop breaker's start-up: count, quarantine, hold, and say so.
#include "app/crash_breaker.h"

#include <map>
#include <utility>

#include "base/log.h"

namespace mta::app {

Result<CrashBreaker> start_crash_breaker(const std::string& spool_path, queue::Store& store) {
  auto table = queue::InFlightTable::open(spool_path + "/inflight");
  if (!table) return unexpected(table.error());
  auto recovered = store.recover_in_flight((*table)->left(), queue::crashes_before_quarantine);
  if (!recovered) return unexpected(recovered.error());
  (*table)->clear_all();  // counted (synced) first: a crash before this counts them again
  if (recovered->interrupted > 0) {
    log::warning("queue: the last run ended during " + std::to_string(recovered->interrupted) +
                 " delivery attempts (a crash); they count against their parts");
  }
  for (const queue::Envelope& part : recovered->quarantined) {
    log::warning("queue: " + to_hex(part.id) + "." + std::to_string(part.part) + " to " +
                 part.destination + " from <" + part.mail_from + "> quarantined: in flight at " +
                 std::to_string(queue::crashes_before_quarantine) +
                 " crashes; held until `outpost queue retry|delete|bounce --id " + to_hex(part.id) +
                 "`");
  }
  auto parts = store.quarantined_parts();
  if (!parts) return unexpected(parts.error());
  CrashBreaker breaker{.table = std::move(table).value(), .held_destinations = {}};
  std::map<std::string, std::size_t> by_destination;
  for (const queue::ScheduledItem& part : *parts) ++by_destination[part.destination];
  for (const auto& [destination, count] : by_destination) {
    if (count < queue::quarantined_parts_to_hold_destination) continue;
    breaker.held_destinations.push_back(destination);
    log::warning("queue: destination " + destination + " held: " + std::to_string(count) +
                 " of its parts are quarantined (its receiver may be crashing the daemon); "
                 "`outpost queue resume " +
                 destination + "` delivers to it again");
  }
  return breaker;
}

}  // namespace mta::app
