// `outpost run`: opens the spool, starts the shards, binds the listeners on every shard, wires
// injection to delivery, and runs until SIGTERM or SIGINT, then drains and returns.
#pragma once

#include "app/config.h"

namespace mta::app {

// Returns the process exit code: 0 after a clean drain, 1 when start-up failed.
int run_daemon(const Config& config);

}  // namespace mta::app
