// `outpost run`: opens the spool, starts the shards, binds the listeners on every shard, wires
// injection to delivery, and runs until SIGTERM or SIGINT, then drains and returns.
#pragma once

#include "app/config.h"

namespace mta::app {

// Returns the process exit code: 0 after a clean drain, 1 when start-up failed.
// `config_path`: the file `config` came from, read again by a reload (SIGHUP, POST
// /api/v1/reload); empty: the embedded defaults, and a reload only reopens files.
int run_daemon(const Config& config, const std::string& config_path = "");

}  // namespace mta::app
