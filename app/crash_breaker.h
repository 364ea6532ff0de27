// The crash-loop breaker at start-up (queue/README.md, "Crash-loop breaker"): the marks the
// last process left in <spool>/inflight count a crash against their parts, a part at its third
// is quarantined, and a destination with several quarantined parts is held as a whole. Logs
// one line per part and destination it holds.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "queue/inflight_table.h"
#include "queue/store.h"

namespace mta::app {

struct CrashBreaker {
  std::unique_ptr<queue::InFlightTable> table;  // where delivery marks its attempts
  std::vector<std::string> held_destinations;   // to suspend on every shard until resumed
};

// Before any shard reads the schedule. Fails when the table or the spool cannot be used.
Result<CrashBreaker> start_crash_breaker(const std::string& spool_path, queue::Store& store);

}  // namespace mta::app
