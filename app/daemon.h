// `outpost run`: opens the spool, starts the shards, binds the listeners on every shard, wires
// injection to delivery, and runs until SIGTERM or SIGINT, then drains and returns.
#pragma once

#include "app/config.h"

namespace mta::app {

// Returns the process exit code: 0 after a clean drain, 1 when start-up failed.
int run_daemon(const Config& config);

enum class QueueView { count, list, summary };
// `outpost queue count|list|summary`: reads the spool of a stopped daemon, prints to stdout.
int print_queue(const Config& config, QueueView view);

}  // namespace mta::app
